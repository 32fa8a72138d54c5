import { describe, expect, it } from 'vitest';
import { loadTargets } from '../../src/platform/targets.js';
import {
  expandTemplate,
  loadToolchains,
  normalizeToolVersion,
  toolchainPackages,
  versionSatisfies,
} from '../../src/platform/toolchains.js';
import { tempTree } from '../helpers/temp.js';

const registry = await loadTargets();
const toolchains = await loadToolchains();
const gnu = toolchains.find((t) => t.name === 'gnu-cross');
const go = toolchains.find((t) => t.name === 'go');
if (!gnu || !go) throw new Error('toolchains/gnu-cross.yaml and toolchains/go.yaml must exist');

describe('toolchains/', () => {
  it.each([
    ['aarch64', 'aarch64-linux-gnu-gcc', ['crossbuild-essential-arm64'], 'libseccomp-dev:arm64'],
    ['armv7', 'arm-linux-gnueabihf-gcc', ['crossbuild-essential-armhf'], 'libseccomp-dev:armhf'],
    ['armv6', 'arm-linux-gnueabi-gcc', ['crossbuild-essential-armel'], 'libseccomp-dev:armel'],
  ])('%s: %s from %o, runc links %s', (name, compiler, packages, library) => {
    const target = registry.get(name);
    expect(expandTemplate(gnu.command, target)).toBe(compiler);
    expect(toolchainPackages(gnu, target, 'debian', false)).toEqual(packages);
    expect(toolchainPackages(gnu, target, 'ubuntu', false)).toEqual(packages);
    expect(gnu.libraries.libseccomp?.packages.debian.map((p) => expandTemplate(p, target))).toEqual([library]);
  });

  it("installs the plain compiler for the build host's own target", () => {
    expect(toolchainPackages(gnu, registry.get('x86_64'), 'debian', true)).toEqual(['build-essential']);
    expect(toolchainPackages(go, registry.get('armv6'), 'debian', false)).toEqual(['golang-go']);
  });

  it.each([
    [gnu, '12', true],
    [gnu, '12.2.0', true],
    [gnu, '9.4.0', false],
    [go, 'go1.19.8', true],
    [go, 'go1.22.2', true],
    [go, 'go1.18.1', false],
    [go, 'devel', false],
  ] as const)('%#: version %s satisfies the range: %s', (toolchain, version, expected) => {
    expect(versionSatisfies(toolchain, version)).toBe(expected);
  });

  it('normalizes tool version strings', () => {
    expect(normalizeToolVersion('go1.19.8')).toBe('1.19.8');
    expect(normalizeToolVersion('12\n')).toBe('12.0.0');
    expect(normalizeToolVersion('qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)')).toBe('7.2.22');
    expect(normalizeToolVersion('qemu-riscv64 version 8.2.2')).toBe('8.2.2');
  });

  it('rejects an unknown placeholder and a bad version range at their lines', async () => {
    const directory = await tempTree({
      'bad.yaml':
        'name: bad\ntitle: Bad\nkind: go\nappliesTo: [native]\ncommand: "{arch}-go"\nversionArgs: []\nversionRange: ">=1.19"\npackages: {debian: [], ubuntu: []}\nnativePackages: {debian: [], ubuntu: []}\nlibraries: {}\n',
    });
    await expect(loadToolchains(directory)).rejects.toThrow(/bad\.yaml:5:10 command: unknown \{placeholder\}/);
    const range = await tempTree({
      'bad.yaml':
        'name: bad\ntitle: Bad\nkind: go\nappliesTo: [native]\ncommand: go\nversionArgs: []\nversionRange: "newest"\npackages: {debian: [], ubuntu: []}\nnativePackages: {debian: [], ubuntu: []}\nlibraries: {}\n',
    });
    await expect(loadToolchains(range)).rejects.toThrow(/bad\.yaml:7:15 versionRange: expected a semver range/);
  });
});
