/**
 * `crossdock binfmt status|install|uninstall`: QEMU user-mode handlers managed directly in
 * binfmt_misc (no container image), reconciled against targets/ and never registered for the
 * host's own target.
 */
import { existsSync } from 'node:fs';
import { FailureError, MissingPrerequisiteError } from '../errors.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Runner } from '../exec/runner.js';
import { readElfFile } from '../platform/elf-file.js';
import { hostTarget } from '../platform/host.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import { expandTemplate, type Toolchain } from '../platform/toolchains.js';
import {
  type BinfmtPaths,
  ensureMounted,
  isMounted,
  persist,
  persistContent,
  readEntry,
  readPersisted,
  register,
  unpersist,
  writeEntryControl,
} from './binfmt-misc.js';
import {
  type BinfmtEntry,
  type BinfmtFlag,
  type BinfmtSpec,
  compareEntry,
  DEFAULT_FLAGS,
  desiredEntry,
  type EntryState,
  type InterpreterFacts,
  registrationLine,
} from './entry.js';

export interface HandlerStatus {
  /** binfmt_misc entry name, e.g. qemu-arm. */
  name: string;
  /** Targets this handler serves (armv6 and armv7 share qemu-arm). */
  targets: string[];
  state: EntryState;
  problems: string[];
  desired: BinfmtSpec;
  actual: BinfmtEntry | null;
  interpreter: InterpreterFacts & { path: string };
  persisted: boolean;
}

export interface BinfmtContext {
  registry: TargetRegistry;
  qemu: Toolchain;
  paths: BinfmtPaths;
  runner: Runner;
  flags?: readonly BinfmtFlag[];
  /** Searched for qemu-*-static; defaults to process.env.PATH. */
  path?: string;
}

/** Foreign targets only, one handler per binfmt name, in registry order. */
export function handlersFor(
  registry: TargetRegistry,
  targets: readonly Target[],
): Array<{ name: string; targets: Target[] }> {
  const host = hostTarget(registry);
  const handlers = new Map<string, Target[]>();
  for (const target of targets) {
    // The host runs its own binaries natively; a handler for it would send them through QEMU.
    if (target.binfmt.magic === host.binfmt.magic && target.binfmt.mask === host.binfmt.mask) continue;
    handlers.set(target.binfmt.name, [...(handlers.get(target.binfmt.name) ?? []), target]);
  }
  return [...handlers].map(([name, served]) => ({ name, targets: served }));
}

export function interpreterPath(context: BinfmtContext, target: Target): string {
  const command = expandTemplate(context.qemu.command, target);
  return findExecutable(command, context.path) ?? `/usr/bin/${command}`;
}

function interpreterFacts(path: string): InterpreterFacts {
  if (!existsSync(path)) return { exists: false, static: null };
  try {
    return { exists: true, static: readElfFile(path).interpreter === null };
  } catch {
    return { exists: true, static: null };
  }
}

export function binfmtStatus(context: BinfmtContext, targets: readonly Target[]): HandlerStatus[] {
  return handlersFor(context.registry, targets).map(({ name, targets: served }) => {
    const [first] = served;
    if (!first) throw new Error('a handler serves at least one target');
    const path = interpreterPath(context, first);
    const desired = desiredEntry(first, path, context.flags ?? DEFAULT_FLAGS);
    const actual = isMounted(context.paths) ? readEntry(context.paths, name) : null;
    const facts = interpreterFacts(actual?.interpreter ?? path);
    const comparison = compareEntry(desired, actual, facts);
    return {
      name,
      targets: served.map((t) => t.name),
      ...comparison,
      desired,
      actual,
      interpreter: { path: actual?.interpreter ?? path, ...facts },
      persisted: readPersisted(context.paths, name) !== null,
    };
  });
}

export type InstallAction = 'registered' | 'replaced' | 'enabled' | 'kept' | 'kept-compatible' | 'refused';

export interface InstallResult extends HandlerStatus {
  action: InstallAction;
  persistedNow: boolean;
}

export async function binfmtInstall(
  context: BinfmtContext,
  targets: readonly Target[],
  options: { force?: boolean; persist?: boolean } = {},
): Promise<InstallResult[]> {
  const before = binfmtStatus(context, targets);
  if (before.length === 0) return [];
  for (const handler of before) {
    if (!handler.interpreter.exists && handler.state !== 'ok' && handler.state !== 'compatible') {
      throw new MissingPrerequisiteError(`${handler.desired.interpreter}: QEMU user-mode emulator not installed`, {
        hint: `apt-get install -y ${context.qemu.packages.debian.join(' ')} (or: crossdock toolchain setup)`,
      });
    }
  }
  await ensureMounted(context.runner, context.paths);
  const results: InstallResult[] = [];
  for (const handler of before) {
    const line = registrationLine(handler.desired);
    let action: InstallAction;
    if (handler.state === 'missing') {
      await register(context.runner, context.paths, line);
      action = 'registered';
    } else if (handler.state === 'ok') {
      action = 'kept';
    } else if (handler.state === 'disabled') {
      await writeEntryControl(context.runner, context.paths, handler.name, '1');
      action = 'enabled';
    } else if (options.force) {
      await writeEntryControl(context.runner, context.paths, handler.name, '-1');
      await register(context.runner, context.paths, line);
      action = 'replaced';
    } else {
      action = handler.state === 'compatible' ? 'kept-compatible' : 'refused';
    }
    let persistedNow = false;
    if (
      options.persist &&
      action !== 'refused' &&
      action !== 'kept-compatible' &&
      readPersisted(context.paths, handler.name) !== persistContent(line)
    ) {
      await persist(context.runner, context.paths, handler.name, line);
      persistedNow = true;
    }
    results.push({ ...handler, action, persistedNow });
  }
  const refused = results.filter((r) => r.action === 'refused');
  if (refused.length > 0) {
    const [first] = refused;
    throw new FailureError(
      `${refused.map((r) => r.name).join(', ')}: registered differently (${first?.problems.join('; ') ?? ''})`,
      { hint: 'crossdock binfmt status shows the difference; rerun with --force to replace it' },
    );
  }
  return results;
}

export interface UninstallResult {
  name: string;
  targets: string[];
  removed: boolean;
  unpersisted: boolean;
  reason: string;
}

/** Removes crossdock's entries (ours: our interpreter, our magic and mask) and files, nothing else. */
export async function binfmtUninstall(context: BinfmtContext, targets: readonly Target[]): Promise<UninstallResult[]> {
  const results: UninstallResult[] = [];
  for (const handler of binfmtStatus(context, targets)) {
    const ours =
      handler.actual !== null &&
      handler.actual.interpreter === handler.desired.interpreter &&
      handler.actual.magic === handler.desired.magic &&
      handler.actual.mask === handler.desired.mask;
    if (ours) await writeEntryControl(context.runner, context.paths, handler.name, '-1');
    const unpersisted = await unpersist(context.runner, context.paths, handler.name);
    results.push({
      name: handler.name,
      targets: handler.targets,
      removed: ours,
      unpersisted,
      reason: ours
        ? 'removed'
        : handler.actual
          ? `left alone: not crossdock's (${handler.actual.interpreter})`
          : 'not registered',
    });
  }
  return results;
}
