import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostTarget } from '../../src/platform/host.js';
import { loadTargets } from '../../src/platform/targets.js';
import { canUseBinfmtNamespace, inBinfmtNamespace } from '../helpers/namespace.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const usable = canUseBinfmtNamespace();
if (!usable && process.env.CROSSDOCK_REQUIRE_BINFMT_NAMESPACE)
  throw new Error('.ci/run found per-namespace binfmt_misc, but the tests cannot use it');
const haveQemu = requireTools('qemu-arm-static', 'qemu-aarch64-static');

const ARM_MAGIC =
  '\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x28\\x00';
const ARM_MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
const MISC = '/proc/sys/fs/binfmt_misc';
const host = hostTarget(await loadTargets());

async function namespace(steps: Record<string, string>) {
  const directory = await tempTree();
  const persist = join(directory, 'binfmt.d');
  const results = await inBinfmtNamespace(directory, steps, { CROSSDOCK_BINFMT_D_DIR: persist });
  return { results, persist };
}

describe.runIf(usable && haveQemu)('binfmt on a real binfmt_misc (own user namespace)', () => {
  it("mounts, registers, proves each handler with the oldest board's CPU, persists, and is idempotent", async () => {
    const { results, persist } = await namespace({
      before: 'crossdock binfmt status --json',
      install: 'crossdock binfmt install --persist',
      entry: `cat ${MISC}/qemu-arm`,
      again: 'crossdock binfmt install --persist --json',
      after: 'crossdock binfmt status --json',
      doctor: 'crossdock doctor --target armv6,aarch64 --json',
    });
    expect(results.before?.exitCode).toBe(3);
    expect(
      (JSON.parse(results.before?.stdout ?? '') as Array<{ name: string; state: string }>).map((h) => [
        h.name,
        h.state,
      ]),
    ).toEqual([
      ['qemu-aarch64', 'missing'],
      ['qemu-arm', 'missing'],
    ]);
    expect(results.install).toMatchObject({ exitCode: 0 });
    expect(results.install?.stdout).toContain('qemu-arm (armv7, armv6): registered, persisted');
    expect(results.install?.stdout).toContain('probe armv6 via qemu-arm -cpu arm1176: ok');
    expect(results.install?.stdout).toContain('probe armv7 via qemu-arm -cpu cortex-a7: ok');
    expect(results.install?.stdout).toContain('probe aarch64 via qemu-aarch64 -cpu cortex-a53: ok');
    expect(results.entry?.stdout).toBe(
      'enabled\ninterpreter /usr/bin/qemu-arm-static\nflags: F\noffset 0\nmagic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n',
    );
    const again = JSON.parse(results.again?.stdout ?? '') as {
      handlers: Array<{ action: string; persistedNow: boolean }>;
    };
    expect(again.handlers.map((h) => [h.action, h.persistedNow])).toEqual([
      ['kept', false],
      ['kept', false],
    ]);
    expect(results.after?.exitCode).toBe(0);
    expect(readdirSync(persist).sort()).toEqual(['crossdock-qemu-aarch64.conf', 'crossdock-qemu-arm.conf']);
    expect(readFileSync(join(persist, 'crossdock-qemu-arm.conf'), 'utf8')).toContain(
      `:qemu-arm:M::${ARM_MAGIC}:${ARM_MASK}:/usr/bin/qemu-arm-static:F\n`,
    );
    const doctor = JSON.parse(results.doctor?.stdout ?? '') as {
      targets: Array<{ target: string; checks: Array<{ id: string; ok: boolean }> }>;
    };
    for (const target of doctor.targets)
      expect(target.checks.find((c) => c.id === 'binfmt')?.ok, target.target).toBe(true);
  });

  it('detects a hand-written conflicting entry, refuses it without --force, replaces it with --force', async () => {
    const { results } = await namespace({
      mount: `mount -t binfmt_misc binfmt_misc ${MISC}`,
      handwritten: `printf '%s' ':qemu-arm:M::${ARM_MAGIC}:${ARM_MASK}:/bin/true:' > ${MISC}/register`,
      status: 'crossdock binfmt status --target armv7 --json',
      refused: 'crossdock binfmt install --target armv7',
      unchanged: `cat ${MISC}/qemu-arm`,
      forced: 'crossdock binfmt install --target armv7 --force',
      replaced: `cat ${MISC}/qemu-arm`,
    });
    const [status] = JSON.parse(results.status?.stdout ?? '') as Array<{ state: string; problems: string[] }>;
    expect(status?.state).toBe('conflict');
    expect(status?.problems.join('\n')).toContain('no F flag');
    expect(status?.problems.join('\n')).toContain('interpreter /bin/true is dynamically linked');
    expect(results.status?.exitCode).toBe(3);
    expect(results.refused?.exitCode).toBe(1);
    expect(results.refused?.stderr).toContain('crossdock: qemu-arm: registered differently');
    expect(results.refused?.stderr).toContain('rerun with --force to replace it');
    expect(results.unchanged?.stdout).toContain('interpreter /bin/true');
    expect(results.forced?.exitCode).toBe(0);
    expect(results.forced?.stdout).toContain('qemu-arm (armv7): replaced');
    expect(results.forced?.stdout).toContain('probe armv7 via qemu-arm -cpu cortex-a7: ok');
    expect(results.replaced?.stdout).toContain('interpreter /usr/bin/qemu-arm-static\nflags: F');
  });

  it("keeps another tool's working handler, and uninstall removes only crossdock's entries and files", async () => {
    const { results, persist } = await namespace({
      mount: `mount -t binfmt_misc binfmt_misc ${MISC}`,
      debian: `printf '%s' ':qemu-arm:M::${ARM_MAGIC}:${ARM_MASK}:/usr/libexec/qemu-binfmt/arm-binfmt-P:OPF' > ${MISC}/register`,
      unrelated: `printf '%s' ':crossdock-test-text:E::cdtxt::/bin/cat:' > ${MISC}/register`,
      install: 'crossdock binfmt install --persist --json',
      uninstall: 'crossdock binfmt uninstall --json',
      left: `ls ${MISC}`,
    });
    const installed = JSON.parse(results.install?.stdout ?? '') as {
      handlers: Array<{ name: string; action: string }>;
      probes: Array<{ target: string; ok: boolean }>;
    };
    expect(installed.handlers.map((h) => [h.name, h.action])).toEqual([
      ['qemu-aarch64', 'registered'],
      ['qemu-arm', 'kept-compatible'],
    ]);
    expect(installed.probes.every((p) => p.ok)).toBe(true);
    const removed = JSON.parse(results.uninstall?.stdout ?? '') as Array<{
      name: string;
      removed: boolean;
      unpersisted: boolean;
      reason: string;
    }>;
    expect(removed).toEqual([
      { name: 'qemu-aarch64', targets: ['aarch64'], removed: true, unpersisted: true, reason: 'removed' },
      {
        name: 'qemu-arm',
        targets: ['armv7', 'armv6'],
        removed: false,
        unpersisted: false,
        reason: "left alone: not crossdock's (/usr/libexec/qemu-binfmt/arm-binfmt-P)",
      },
    ]);
    expect(results.left?.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'crossdock-test-text',
      'qemu-arm',
      'register',
      'status',
    ]);
    expect(readdirSync(persist)).toEqual([]);
  });

  it("never registers the host's own target, and --dry-run writes nothing", async () => {
    const { results } = await namespace({
      native: `crossdock binfmt install --target ${host.name} --json`,
      unmounted: `test -e ${MISC}/register && echo mounted || echo unmounted`,
      mount: `mount -t binfmt_misc binfmt_misc ${MISC}`,
      dry: 'crossdock binfmt install --target armv6 --persist --dry-run',
      left: `ls ${MISC}`,
      badFlags: 'crossdock binfmt install --flags C',
    });
    expect(JSON.parse(results.native?.stdout ?? '')).toEqual({ handlers: [], probes: [] });
    expect(results.unmounted?.stdout).toBe('unmounted\n');
    expect(results.dry?.exitCode).toBe(0);
    expect(results.dry?.stderr).toContain(`would run: tee ${MISC}/register`);
    expect(results.dry?.stderr).toContain('would run: tee ');
    expect(results.left?.stdout.split('\n').filter(Boolean).sort()).toEqual(['register', 'status']);
    expect(results.badFlags?.exitCode).toBe(2);
    expect(results.badFlags?.stderr).toContain('--flags C: expected letters from F, C, P, O including F');
  });
});
