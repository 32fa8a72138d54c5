import { describe, expect, it } from 'vitest';
import {
  compareEntry,
  desiredEntry,
  parseEntry,
  parseRegistrationLine,
  registrationLine,
} from '../../src/binfmt/entry.js';
import { loadTargets } from '../../src/platform/targets.js';

const registry = await loadTargets();
const armv6 = registry.get('armv6');
const desired = desiredEntry(armv6, '/usr/bin/qemu-arm-static');
const ok = { exists: true, static: true };

/** What the kernel prints for a handler, as read from /proc/sys/fs/binfmt_misc/qemu-arm. */
const readBack = (overrides: Partial<Record<'state' | 'interpreter' | 'flags' | 'magic' | 'mask', string>> = {}) =>
  [
    overrides.state ?? 'enabled',
    `interpreter ${overrides.interpreter ?? '/usr/bin/qemu-arm-static'}`,
    `flags: ${overrides.flags ?? 'F'}`,
    'offset 0',
    `magic ${overrides.magic ?? '7f454c4601010100000000000000000002002800'}`,
    `mask ${overrides.mask ?? 'ffffffffffffff00fffffffffffffffffeffffff'}`,
    '',
  ].join('\n');

describe('binfmt entries', () => {
  it("writes the registration line QEMU's own qemu-binfmt-conf.sh writes, with F", () => {
    expect(registrationLine(desired)).toBe(
      ':qemu-arm:M::\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x28\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-arm-static:F',
    );
  });

  it("reads Debian's own qemu-user-static registration back into the same magic and mask", () => {
    const debian = parseRegistrationLine(
      ':qemu-arm:M::\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x28\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/arm-binfmt-P:OPF',
    );
    expect(debian).toMatchObject({
      name: 'qemu-arm',
      type: 'M',
      magic: armv6.binfmt.magic,
      mask: armv6.binfmt.mask,
      flags: ['P', 'O', 'F'],
    });
  });

  it('parses what the kernel prints', () => {
    expect(parseEntry('qemu-arm', readBack({ flags: 'POCF' }))).toEqual({
      name: 'qemu-arm',
      enabled: true,
      interpreter: '/usr/bin/qemu-arm-static',
      flags: ['P', 'O', 'C', 'F'],
      offset: 0,
      magic: armv6.binfmt.magic,
      mask: armv6.binfmt.mask,
      extension: null,
    });
  });

  it.each([
    ['exactly ours', readBack(), ok, 'ok', []],
    ['ours, disabled', readBack({ state: 'disabled' }), ok, 'disabled', ['disabled']],
    [
      "another tool's working handler",
      readBack({ interpreter: '/usr/libexec/qemu-binfmt/arm-binfmt-P', flags: 'OPF' }),
      ok,
      'compatible',
      [
        'interpreter is /usr/libexec/qemu-binfmt/arm-binfmt-P, crossdock uses /usr/bin/qemu-arm-static',
        'flags are POF, crossdock uses F',
      ],
    ],
    [
      'no F flag',
      readBack({ flags: '' }),
      ok,
      'conflict',
      ['no F flag: the interpreter would have to exist inside every chroot and container'],
    ],
    [
      'a dynamic interpreter',
      readBack({ interpreter: '/usr/bin/qemu-arm' }),
      { exists: true, static: false },
      'conflict',
      ['interpreter /usr/bin/qemu-arm is dynamically linked: it cannot start inside a foreign rootfs'],
    ],
    [
      'a missing interpreter without F',
      readBack({ flags: 'OC' }),
      { exists: false, static: null },
      'conflict',
      ['interpreter /usr/bin/qemu-arm-static does not exist'],
    ],
    [
      'a different mask',
      readBack({ mask: 'ffffffffffffffffffffffffffffffffffffffff' }),
      ok,
      'conflict',
      ['magic/mask differ from targets/'],
    ],
  ] as const)('%s → %s', (_, text, facts, state, problems) => {
    const comparison = compareEntry(desired, parseEntry('qemu-arm', text), facts);
    expect(comparison.state).toBe(state);
    for (const problem of problems) expect(comparison.problems.join('\n')).toContain(problem);
  });

  it('calls an absent entry missing', () => {
    expect(compareEntry(desired, null, ok)).toEqual({ state: 'missing', problems: ['qemu-arm is not registered'] });
  });

  it('refuses interpreter paths the register format cannot carry', () => {
    expect(() => registrationLine({ ...desired, interpreter: '/opt/my qemu/qemu-arm' })).toThrow(/cannot hold/);
  });
});
