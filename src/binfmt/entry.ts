/**
 * binfmt_misc entries, pure: the registration line crossdock writes for a target, the entry the
 * kernel reads back (/proc/sys/fs/binfmt_misc/<name>), and how the two compare.
 * Format: Documentation/admin-guide/binfmt-misc.rst in the kernel tree.
 */
import type { Target } from '../platform/targets.js';

export const BINFMT_FLAGS = ['P', 'O', 'C', 'F'] as const;
export type BinfmtFlag = (typeof BINFMT_FLAGS)[number];

/**
 * F (fix binary): the kernel opens the interpreter at registration, so the handler works in
 * chroots, containers and other mount namespaces, where /usr/bin/qemu-*-static does not exist.
 * crossdock's emulated boards are such chroots.
 */
export const DEFAULT_FLAGS: readonly BinfmtFlag[] = ['F'];

export interface BinfmtSpec {
  name: string;
  magic: string;
  mask: string;
  interpreter: string;
  flags: readonly BinfmtFlag[];
}

export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: BinfmtFlag[];
  offset: number;
  magic: string | null;
  mask: string | null;
  extension: string | null;
}

export function desiredEntry(
  target: Target,
  interpreter: string,
  flags: readonly BinfmtFlag[] = DEFAULT_FLAGS,
): BinfmtSpec {
  return {
    name: target.binfmt.name,
    magic: target.binfmt.magic,
    mask: target.binfmt.mask,
    interpreter,
    flags: sortFlags(flags),
  };
}

/** `:name:M::\x7f\x45…:\xff\xff…:/usr/bin/qemu-arm-static:F`, for /proc/sys/fs/binfmt_misc/register and binfmt.d. */
export function registrationLine(spec: BinfmtSpec): string {
  if (/[:\s]/.test(spec.interpreter))
    throw new Error(`binfmt interpreter path cannot hold ':' or spaces: ${spec.interpreter}`);
  return `:${spec.name}:M::${escapeHex(spec.magic)}:${escapeHex(spec.mask)}:${spec.interpreter}:${sortFlags(spec.flags).join('')}`;
}

function escapeHex(hex: string): string {
  return hex.replace(/../g, (pair) => `\\x${pair}`);
}

export function parseFlags(text: string): BinfmtFlag[] {
  const flags = Array.from(text.toUpperCase().replace(/[^A-Z]/g, '')).filter((c): c is BinfmtFlag =>
    (BINFMT_FLAGS as readonly string[]).includes(c),
  );
  return sortFlags(flags);
}

export function sortFlags(flags: readonly BinfmtFlag[]): BinfmtFlag[] {
  return BINFMT_FLAGS.filter((flag) => flags.includes(flag));
}

/** Parses what the kernel prints for one entry. */
export function parseEntry(name: string, text: string): BinfmtEntry {
  const entry: BinfmtEntry = {
    name,
    enabled: false,
    interpreter: '',
    flags: [],
    offset: 0,
    magic: null,
    mask: null,
    extension: null,
  };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === 'enabled') entry.enabled = true;
    else if (trimmed === 'disabled') entry.enabled = false;
    else if (trimmed.startsWith('interpreter ')) entry.interpreter = trimmed.slice('interpreter '.length);
    else if (trimmed.startsWith('flags:')) entry.flags = parseFlags(trimmed.slice('flags:'.length));
    else if (trimmed.startsWith('offset ')) entry.offset = Number(trimmed.slice('offset '.length));
    else if (trimmed.startsWith('magic ')) entry.magic = trimmed.slice('magic '.length).toLowerCase();
    else if (trimmed.startsWith('mask ')) entry.mask = trimmed.slice('mask '.length).toLowerCase();
    else if (trimmed.startsWith('extension ')) entry.extension = trimmed.slice('extension '.length);
  }
  return entry;
}

/** Parses a registration line (as in /etc/binfmt.d/*.conf) into what the kernel would read back. */
export function parseRegistrationLine(line: string): BinfmtSpec & { type: string; offset: number } {
  const separator = line[0] ?? ':';
  const fields = line.trim().slice(1).split(separator);
  const [name = '', type = '', offset = '', magic = '', mask = '', interpreter = '', flags = ''] = fields;
  const unescape = (text: string) =>
    Buffer.from(
      text.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('hex');
  return {
    name,
    type,
    offset: Number(offset || 0),
    magic: unescape(magic),
    mask: unescape(mask),
    interpreter,
    flags: parseFlags(flags),
  };
}

export type EntryState =
  /** Exactly what crossdock would register, enabled, interpreter present and static. */
  | 'ok'
  /** Registered by someone else (another interpreter path or extra flags) but it works for us. */
  | 'compatible'
  /** Ours, but switched off. */
  | 'disabled'
  /** Does not work for crossdock: wrong magic or mask, no F flag, a missing or dynamic interpreter. */
  | 'conflict'
  | 'missing';

export interface InterpreterFacts {
  exists: boolean;
  static: boolean | null;
}

export interface EntryComparison {
  state: EntryState;
  problems: string[];
}

export function compareEntry(
  desired: BinfmtSpec,
  actual: BinfmtEntry | null,
  interpreter: InterpreterFacts,
): EntryComparison {
  if (!actual) return { state: 'missing', problems: [`${desired.name} is not registered`] };
  const problems: string[] = [];
  let broken = false;
  if (actual.magic !== desired.magic || actual.mask !== desired.mask || actual.offset !== 0) {
    problems.push(`magic/mask differ from targets/ (magic ${actual.magic ?? 'none'}, mask ${actual.mask ?? 'none'})`);
    broken = true;
  }
  if (!actual.flags.includes('F')) {
    problems.push('no F flag: the interpreter would have to exist inside every chroot and container');
    broken = true;
  }
  if (!interpreter.exists && !actual.flags.includes('F')) {
    problems.push(`interpreter ${actual.interpreter} does not exist`);
    broken = true;
  } else if (!interpreter.exists) {
    problems.push(`interpreter ${actual.interpreter} no longer exists (the kernel still holds it open: F flag)`);
  }
  if (interpreter.static === false) {
    problems.push(`interpreter ${actual.interpreter} is dynamically linked: it cannot start inside a foreign rootfs`);
    broken = true;
  }
  const sameInterpreter = actual.interpreter === desired.interpreter;
  const sameFlags = actual.flags.join('') === sortFlags(desired.flags).join('');
  if (!sameInterpreter) problems.push(`interpreter is ${actual.interpreter}, crossdock uses ${desired.interpreter}`);
  if (!sameFlags)
    problems.push(`flags are ${actual.flags.join('') || 'none'}, crossdock uses ${sortFlags(desired.flags).join('')}`);
  if (!actual.enabled) problems.push('disabled');
  if (broken) return { state: 'conflict', problems };
  if (sameInterpreter && sameFlags && problems.length === (actual.enabled ? 0 : 1)) {
    return { state: actual.enabled ? 'ok' : 'disabled', problems };
  }
  return { state: actual.enabled ? 'compatible' : 'conflict', problems };
}
