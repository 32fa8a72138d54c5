import { describe, expect, it } from 'vitest';
import type { Manifest, ManifestArtifact } from '../../src/artifacts/manifest.js';
import { parseBatch, waves } from '../../src/install/install.js';
import {
  planSend,
  chooseBundle,
  cmdlineWithMemoryCgroup,
  planHost,
  preflightFindings,
  versionsToPrune,
} from '../../src/install/plan.js';
import type { ProbeReport } from '../../src/install/board-probe.js';

function manifest(targets: string[]): Manifest {
  return {
    schemaVersion: 1,
    tool: 't',
    version: '1.0.0',
    sourceDateEpoch: 0,
    targets,
    sources: [],
    toolchains: {},
    artifacts: targets.map((target) => ({
      kind: 'bundle',
      file: `docker-1.0.0-${target}.tgz`,
      target,
      size: 1,
      sha256: 'x',
    })),
  };
}

function probe(target: string, alsoRuns: string[]): ProbeReport {
  return {
    name: 'pi',
    target,
    refused: null,
    identity: {
      target,
      alsoRuns,
      board: { id: 'rpi-2', name: 'Raspberry Pi 2', model: 'x' },
    } as ProbeReport['identity'],
    model: null,
    kernel: { release: '', machine: '', bits: 32 },
    userland: { bits: 32, dpkgArchitecture: null },
    os: null,
    init: null,
    freeDiskBytes: null,
    memoryCgroup: { enabled: true, fix: null, cmdlineFile: null, cmdline: null },
    iptables: null,
    apparmor: { enabled: false, parser: false },
    docker: { packages: [], commands: [], crossdockVersion: null },
    sudo: 'root',
  };
}

describe('install planning', () => {
  it('takes the board’s own target first, then one it also runs, never one it cannot', () => {
    expect(chooseBundle(manifest(['armv6', 'armv7']), probe('armv7', ['armv6']))).toMatchObject({
      ok: true,
      exact: true,
      bundle: { target: 'armv7' },
    });
    expect(chooseBundle(manifest(['armv6']), probe('armv7', ['armv6']))).toMatchObject({
      ok: true,
      exact: false,
      bundle: { target: 'armv6' },
    });
    const refused = chooseBundle(manifest(['armv7', 'aarch64']), probe('armv6', []));
    expect(refused).toMatchObject({ ok: false, hint: 'build it: crossdock build --target armv6 --version 1.0.0' });
  });

  it('prunes the oldest versions but never the active or the previous one', () => {
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    expect(versionsToPrune(['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'], '1.4.0', '1.0.0', 2, order)).toEqual([
      '1.2.0',
      '1.1.0',
    ]);
    expect(versionsToPrune(['1.0.0'], '1.0.0', null, 0, order)).toEqual([]);
  });

  it('splits a fleet into a canary wave and batches, by count or percentage', () => {
    expect(waves([1, 2, 3, 4, 5, 6], 1, 2)).toEqual([[1], [2, 3], [4, 5], [6]]);
    expect(waves([1, 2, 3], 0, parseBatch(undefined, 3))).toEqual([[1, 2, 3]]);
    expect(parseBatch('25%', 10)).toBe(3);
    expect(() => parseBatch('none', 10)).toThrow('--batch none: expected a number of hosts or a percentage');
  });

  it('preflight: disk and conflicting packages always stop; iptables and the memory cgroup only where a daemon runs', () => {
    const board = probe('armv7', []);
    const systemd = {
      ...board,
      init: 'systemd',
      iptables: null,
      memoryCgroup: { enabled: false, fix: 'add cgroup_enable=memory', cmdlineFile: null, cmdline: null },
    };
    expect(preflightFindings(systemd, 1024).map((f) => [f.severity, f.message])).toEqual([
      ['error', 'the memory cgroup is disabled'],
      ['error', 'iptables is not installed; dockerd refuses to start without it ("Iptables not found")'],
    ]);
    const chroot = { ...systemd, init: 'sshd' };
    expect(preflightFindings(chroot, 1024).map((f) => f.severity)).toEqual(['warning', 'warning']);
    // Debian's kernels have AppArmor on: without apparmor_parser dockerd starts but no container does.
    const apparmor = {
      ...board,
      init: 'systemd',
      iptables: 'nft' as const,
      apparmor: { enabled: true, parser: false },
    };
    expect(preflightFindings(apparmor, 1024).map((f) => [f.severity, f.fix])).toEqual([
      ['error', 'apt-get install apparmor (or boot with apparmor=0)'],
    ]);
    expect(preflightFindings({ ...apparmor, apparmor: { enabled: true, parser: true } }, 1024)).toEqual([]);
    expect(preflightFindings({ ...apparmor, init: 'sshd' }, 1024).map((f) => f.severity)).toEqual(['warning']);
    const full = {
      ...board,
      freeDiskBytes: 10 * 1024 * 1024,
      docker: { packages: [{ name: 'runc', version: '1.1.5' }], commands: [], crossdockVersion: null },
    };
    expect(
      preflightFindings(full, 1024 * 1024)
        .filter((f) => f.severity === 'error')
        .map((f) => f.fix),
    ).toEqual(['free some space (apt-get clean, old logs) and run again', 'remove them first: apt-get remove runc']);
  });

  it('--fix edits the one line of cmdline.txt: drops cgroup_disable=memory, adds what is missing, once', () => {
    const pi = 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait';
    expect(cmdlineWithMemoryCgroup(`${pi}\n`)).toBe(`${pi} cgroup_enable=memory cgroup_memory=1`);
    expect(cmdlineWithMemoryCgroup(`cgroup_disable=memory ${pi} cgroup_memory=1`)).toBe(
      `${pi} cgroup_memory=1 cgroup_enable=memory`,
    );
    const once = cmdlineWithMemoryCgroup(pi);
    expect(cmdlineWithMemoryCgroup(once)).toBe(once);
    expect(once).not.toContain('\n');
  });

  it('preflight offers the cmdline.txt edit as an automatic fix, and says "reboot" once the file already has it', () => {
    const board = probe('armv7', []);
    const disabled = (cmdline: string) => ({
      ...board,
      init: 'systemd',
      memoryCgroup: { enabled: false, fix: 'add …', cmdlineFile: '/boot/firmware/cmdline.txt', cmdline },
    });
    const [finding] = preflightFindings(disabled('root=/dev/mmcblk0p2 rootwait cgroup_disable=memory'), 1024);
    expect(finding?.autoFix).toEqual({
      kind: 'cmdline',
      file: '/boot/firmware/cmdline.txt',
      line: 'root=/dev/mmcblk0p2 rootwait cgroup_enable=memory cgroup_memory=1',
    });
    const [edited] = preflightFindings(
      disabled('root=/dev/mmcblk0p2 rootwait cgroup_enable=memory cgroup_memory=1'),
      1024,
    );
    expect(edited?.autoFix).toBeUndefined();
    expect(edited?.severity).toBe('error');
    expect(edited?.fix).toBe('reboot the board, then run again');
  });
});

describe("one board's plan (what a dry run prints and the apply loop runs)", () => {
  const withDaemon = (): Manifest => {
    const m = manifest(['aarch64']);
    const bundle = m.artifacts[0];
    if (bundle) bundle.binaries = [{ name: 'dockerd' } as never];
    m.artifacts.push({
      kind: 'image',
      file: 'probe.tar',
      target: 'aarch64',
      size: 1,
      sha256: 'y',
      image: { tag: 't', id: 'i' },
    });
    return m;
  };
  const facts = (
    state: { current: string | null; systemd: boolean; daemonConfig: string | null },
    currentHealthy = false,
  ) => ({
    probe: probe('aarch64', []),
    state,
    currentHealthy,
  });

  it('a board without systemd: send, switch, health, commit', () => {
    expect(
      planHost(facts({ current: null, systemd: false, daemonConfig: null }), withDaemon(), {
        daemonConfigSha256: null,
        signed: false,
      }),
    ).toMatchObject({ kind: 'install', image: null, steps: ['preflight', 'send', 'switch', 'health', 'commit'] });
  });

  it('with systemd, a signature and daemon settings: every step, the containers check included', () => {
    const plan = planHost(facts({ current: '0.9.0', systemd: true, daemonConfig: null }), withDaemon(), {
      daemonConfigSha256: 'abc',
      signed: true,
    });
    expect(plan).toMatchObject({ kind: 'install', image: { file: 'probe.tar' } });
    expect(plan.kind === 'install' && plan.steps).toEqual([
      'preflight',
      'signature',
      'send',
      'configure',
      'units',
      'switch',
      'restart',
      'health',
      'containers',
      'commit',
    ]);
  });

  it('the same healthy version: unchanged, or only the new daemon.json', () => {
    const same = facts({ current: '1.0.0', systemd: true, daemonConfig: 'abc' }, true);
    expect(planHost(same, withDaemon(), { daemonConfigSha256: 'abc', signed: false })).toEqual({ kind: 'unchanged' });
    expect(planHost(same, withDaemon(), { daemonConfigSha256: 'def', signed: false })).toMatchObject({
      kind: 'reconfigure',
      bundle: { target: 'aarch64' },
      steps: ['configure', 'restart', 'health', 'commit'],
    });
    // Signed builds: the board checks the signature before the settings change, as for an install.
    expect(planHost(same, withDaemon(), { daemonConfigSha256: 'def', signed: true })).toMatchObject({
      steps: ['signature', 'configure', 'restart', 'health', 'commit'],
    });
    // Without systemd nothing restarts the daemons, and the plan says so (what a dry run prints).
    const plain = facts({ current: '1.0.0', systemd: false, daemonConfig: 'abc' }, true);
    expect(planHost(plain, withDaemon(), { daemonConfigSha256: 'def', signed: false })).toMatchObject({
      steps: ['configure', 'health', 'commit'],
    });
    // The same version that fails its health check is installed again.
    expect(
      planHost({ ...same, currentHealthy: false }, withDaemon(), { daemonConfigSha256: 'abc', signed: false }).kind,
    ).toBe('install');
  });

  it('a board no bundle fits is refused, with the reason', () => {
    expect(
      planHost(
        { ...facts({ current: null, systemd: false, daemonConfig: null }), probe: probe('armv6', []) },
        withDaemon(),
        {
          daemonConfigSha256: null,
          signed: false,
        },
      ),
    ).toMatchObject({ kind: 'refused', reason: expect.stringContaining('needs a armv6 bundle') as unknown });
  });
});

describe('rollout state and board scripts (#17 lows)', () => {
  it('a state file without hosts is refused with the fix, not a crash', async () => {
    const { readRolloutState } = await import('../../src/install/install.js');
    const { tempTree } = await import('../helpers/temp.js');
    const directory = await tempTree({
      'state.json': '{"version":"1.0.0"}',
      'good.json': '{"version":"1.0.0","hosts":{}}',
    });
    await expect(readRolloutState(`${directory}/state.json`)).rejects.toThrow('it needs a version and hosts');
    await expect(readRolloutState(`${directory}/good.json`)).resolves.toEqual({ version: '1.0.0', hosts: {} });
  });
});

describe('what an upgrade sends (#18)', () => {
  const binary = (name: string, sha: string) =>
    ({
      name,
      component: name,
      size: 10,
      sha256: sha.repeat(64),
      armArch: null,
      source: { spec: 't', revision: 't', version: '1' },
      flags: { env: {}, args: [] },
      smoke: null,
      go: null,
    }) as NonNullable<ManifestArtifact['binaries']>[number];
  const bundle: ManifestArtifact = {
    kind: 'bundle',
    file: 'docker-2.0.0-aarch64.tgz',
    target: 'aarch64',
    size: 100,
    sha256: 'f'.repeat(64),
    binaries: [binary('dockerd', 'a'), binary('runc', 'b')],
  };
  const state = (objects: string[], incoming: string[] = []) => ({
    current: '1.0.0',
    systemd: false,
    daemonConfig: null,
    objects,
    incoming,
  });

  it('only the binaries the store lacks, once the board holds any', () => {
    expect(planSend(bundle, state(['a'.repeat(64)]))).toMatchObject({
      kind: 'objects',
      missing: [{ name: 'runc' }],
      present: [{ name: 'dockerd' }],
    });
    expect(planSend(bundle, state(['a'.repeat(64), 'b'.repeat(64)]))).toMatchObject({ kind: 'objects', missing: [] });
  });

  it('the whole bundle for a new board, a bundle already on it, or hashes the manifest lacks', () => {
    expect(planSend(bundle, state([]))).toEqual({ kind: 'bundle' });
    expect(planSend(bundle, state(['a'.repeat(64)], [bundle.file]))).toEqual({ kind: 'bundle' });
    const unhashed = { ...bundle, binaries: [binary('dockerd', 'a'), { ...binary('runc', 'b'), sha256: '' }] };
    expect(planSend(unhashed, state(['a'.repeat(64)]))).toEqual({ kind: 'bundle' });
  });

  it('a board that downloads from the release falls back to what its store lacks, not the whole bundle', () => {
    expect(planSend(bundle, state(['a'.repeat(64)]), { boardDownloads: true })).toMatchObject({
      kind: 'download',
      fallback: { kind: 'objects', missing: [{ name: 'runc' }] },
    });
    expect(planSend(bundle, state([]), { boardDownloads: true })).toEqual({
      kind: 'download',
      fallback: { kind: 'bundle' },
    });
    // Already in incoming/: nothing to download.
    expect(planSend(bundle, state([], [bundle.file]), { boardDownloads: true })).toEqual({ kind: 'bundle' });
  });
});
