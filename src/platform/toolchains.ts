/**
 * toolchains/*.yaml: which Debian/Ubuntu packages give each target its toolchain and which
 * versions are good enough. Package names and commands are templates filled from the target's
 * definition ({debian}, {triple}, …), so no architecture string is spelled twice.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import * as v from 'valibot';
import { loadDocument } from '../document/document.js';
import { UserError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { Target } from './targets.js';

const PLACEHOLDER = /\{(name|debian|triple|qemu|goarch)\}/g;
const template = v.pipe(
  v.string(),
  v.check(
    (text) => text.replace(PLACEHOLDER, '').match(/[{}]/) === null,
    'unknown {placeholder}: use {name}, {debian}, {triple}, {qemu} or {goarch}',
  ),
);
const packagesByDistribution = v.strictObject({
  debian: v.array(template),
  ubuntu: v.array(template),
});

export const ToolchainSchema = v.strictObject({
  name: v.string(),
  title: v.string(),
  kind: v.picklist(['c-compiler', 'go', 'emulator']),
  appliesTo: v.pipe(
    v.array(v.picklist(['native', 'foreign'])),
    v.description('Whether the build host needs it for its own target, for foreign targets, or both'),
  ),
  command: v.pipe(template, v.description('Command to run; {triple} etc. come from the target')),
  versionArgs: v.array(v.string()),
  versionRange: v.pipe(
    v.string(),
    v.check((range) => semver.validRange(range) !== null, 'expected a semver range like >=10'),
    v.description('Versions good enough for the recipes'),
  ),
  packages: v.pipe(packagesByDistribution, v.description('Packages for a foreign target')),
  nativePackages: v.pipe(packagesByDistribution, v.description('Packages when the target is the build host')),
  libraries: v.record(
    v.string(),
    v.strictObject({
      usedBy: v.array(v.string()),
      packages: packagesByDistribution,
      probe: v.pipe(v.string(), v.description('A file the library package installs for the target')),
    }),
  ),
});
export type Toolchain = v.InferOutput<typeof ToolchainSchema>;
export type Distribution = 'debian' | 'ubuntu';

export function defaultToolchainsDirectory(): string {
  return join(packageRoot(), 'toolchains');
}

export async function loadToolchains(directory = defaultToolchainsDirectory()): Promise<Toolchain[]> {
  const files = (await readdir(directory)).filter((entry) => /\.ya?ml$/.test(entry)).sort();
  if (files.length === 0) throw new UserError(`${directory}: no toolchain definitions (*.yaml)`);
  return Promise.all(files.map((file) => loadDocument(join(directory, file), ToolchainSchema)));
}

/** Fills {debian}, {triple}, {name}, {qemu}, {goarch} from a target. */
export function expandTemplate(text: string, target: Target): string {
  const values: Record<string, string> = {
    name: target.name,
    debian: target.debian,
    triple: target.gnu.triple,
    qemu: target.qemu.name,
    goarch: target.go.GOARCH,
  };
  return text.replace(PLACEHOLDER, (_, key: string) => values[key] ?? '');
}

export function toolchainPackages(
  toolchain: Toolchain,
  target: Target,
  distribution: Distribution,
  native: boolean,
): string[] {
  const list = (native ? toolchain.nativePackages : toolchain.packages)[distribution];
  return list.map((name) => expandTemplate(name, target));
}

/** Normalizes versions like `go1.19.8` or `12` so semver can compare them. */
export function normalizeToolVersion(raw: string): string | null {
  // A dotted number first: `qemu-aarch64 version 7.2.22` must not read as 64.
  const dotted = /(?:^|[^\w.])(?:go|v)?(\d+\.\d+(?:\.\d+)?)/.exec(raw.trim());
  return semver.coerce(dotted?.[1] ?? raw.trim().replace(/^go/, ''))?.version ?? null;
}

export function versionSatisfies(toolchain: Toolchain, raw: string): boolean {
  const version = normalizeToolVersion(raw);
  return version !== null && semver.satisfies(version, toolchain.versionRange);
}
