import { describe, expect, it } from 'vitest';
import {
  AmbiguousTargetNameError,
  findTargets,
  resolveTarget,
  UnknownTargetNameError,
} from '../../src/platform/resolve.js';
import type { Vocabulary } from '../../src/platform/target-schema.js';
import { loadTargets } from '../../src/platform/targets.js';

const registry = await loadTargets();

// Names as tools print them: docker/buildx --platform, containerd, uname -m, dpkg, apk, go env,
// gcc -dumpmachine, Docker's static download directories.
const UNAMBIGUOUS: Array<[string, string]> = [
  ['linux/amd64', 'x86_64'],
  ['amd64', 'x86_64'],
  ['x86_64', 'x86_64'],
  ['x86-64', 'x86_64'],
  ['x86_64-linux-gnu', 'x86_64'],
  ['x86_64-pc-linux-gnu', 'x86_64'],
  ['linux/arm64', 'aarch64'],
  ['linux/arm64/v8', 'aarch64'],
  ['arm64/v8', 'aarch64'],
  ['arm64', 'aarch64'],
  ['aarch64', 'aarch64'],
  ['AArch64', 'aarch64'],
  ['aarch64-linux-gnu', 'aarch64'],
  ['GOARCH=arm64', 'aarch64'],
  ['linux/arm/v7', 'armv7'],
  ['arm/v7', 'armv7'],
  ['linux/arm', 'armv7'],
  ['armv7l', 'armv7'],
  ['armv8l', 'armv7'],
  ['arm-linux-gnueabihf', 'armv7'],
  ['GOARCH=arm GOARM=7', 'armv7'],
  ['GOARM=7 GOARCH=arm', 'armv7'],
  ['goarch=arm,goarm=7', 'armv7'],
  ['GOARCH=arm', 'armv7'], // Go's default GOARM when cross-compiling
  ['GOOS=linux GOARCH=arm GOARM=7,hardfloat', 'armv7'],
  ['linux/arm/v6', 'armv6'],
  ['arm/v6', 'armv6'],
  ['linux/arm/6', 'armv6'],
  ['armv6l', 'armv6'],
  ['armel', 'armv6'],
  ['arm-linux-gnueabi', 'armv6'],
  ['GOARCH=arm GOARM=6', 'armv6'],
  ['  armv6  ', 'armv6'],
  ['riscv64', 'riscv64'],
  ['linux/riscv64', 'riscv64'],
];

describe('resolveTarget', () => {
  it.each(UNAMBIGUOUS)('resolves %j to %s', (name, expected) => {
    expect(resolveTarget(registry, name).name).toBe(expected);
  });

  it('refuses armhf without a vocabulary, naming both meanings and how to choose', () => {
    const error = (() => {
      try {
        resolveTarget(registry, 'armhf');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(AmbiguousTargetNameError);
    const { message, hint, exitCode } = error as AmbiguousTargetNameError;
    expect(message).toContain('armv7 in oci, debian, docker-static');
    expect(message).toContain('armv6 in raspbian, alpine');
    expect(hint).toContain('debian:armhf (armv7)');
    expect(hint).toContain('raspbian:armhf (armv6)');
    expect(exitCode).toBe(2);
  });

  const BY_VOCABULARY: Array<[string, Vocabulary, string]> = [
    ['armhf', 'debian', 'armv7'],
    ['armhf', 'raspbian', 'armv6'],
    ['armhf', 'alpine', 'armv6'],
    ['armhf', 'oci', 'armv7'], // containerd normalizes armhf to arm/v7
    ['armhf', 'docker-static', 'armv7'],
    ['armel', 'docker-static', 'armv6'],
    ['armv7', 'alpine', 'armv7'],
    ['arm64', 'debian', 'aarch64'],
    ['arm', 'go', 'armv7'],
    ['aarch64', 'qemu', 'aarch64'],
  ];
  it.each(BY_VOCABULARY)('resolves %j in the %s vocabulary to %s', (name, vocabulary, expected) => {
    expect(resolveTarget(registry, name, { vocabulary }).name).toBe(expected);
    expect(resolveTarget(registry, `${vocabulary}:${name}`).name).toBe(expected);
  });

  it('says the QEMU name arm is shared by armv6 and armv7', () => {
    expect(() => resolveTarget(registry, 'qemu:arm')).toThrow(
      /more than one target in the qemu vocabulary \(armv7, armv6\)/,
    );
  });

  it('rejects armv7l as an OCI name, as containerd does, and gives the OCI spelling', () => {
    expect(() => resolveTarget(registry, 'armv7l', { vocabulary: 'oci' })).toThrow(
      expect.objectContaining({
        message: '"armv7l" is not a oci name; it is the uname name of armv7',
        hint: 'in oci terms say linux/arm/v7',
      }),
    );
  });

  it('lists the valid targets and suggests the nearest name for an unknown one', () => {
    expect(() => resolveTarget(registry, 'armv71')).toThrow(UnknownTargetNameError);
    try {
      resolveTarget(registry, 'aarch46');
    } catch (error) {
      expect((error as UnknownTargetNameError).hint).toMatch(
        /^did you mean aarch64\? valid targets: x86_64, aarch64, armv7, armv6, riscv64/,
      );
    }
    expect(() => resolveTarget(registry, '')).toThrow(/empty platform name/);
    expect(() => resolveTarget(registry, 'mips')).toThrow(/unknown platform name "mips"/);
  });

  it('reads bare words as Go names only when asked to', () => {
    // `arm` alone is ambiguous (oci says v7, qemu runs both) but GOARCH=arm is Go's v7 default.
    expect(() => resolveTarget(registry, 'arm')).toThrow(AmbiguousTargetNameError);
    expect(findTargets(registry, 'arm64').map((m) => m.vocabulary)).not.toContain('go');
    expect(resolveTarget(registry, 'arm64', { vocabulary: 'go' }).name).toBe('aarch64');
  });

  it('refuses a prefix that contradicts the vocabulary option', () => {
    expect(() => resolveTarget(registry, 'debian:armhf', { vocabulary: 'alpine' })).toThrow(
      /names the debian vocabulary but alpine was asked for/,
    );
  });
});
