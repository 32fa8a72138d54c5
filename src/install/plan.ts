/**
 * Install planning, pure: which bundle a board gets (or why none), the layout on the board, and
 * which versions to keep. The install stage carries these decisions out over SSH.
 */
import {
  CLI_PLUGIN_DIRECTORY,
  type Manifest,
  type ManifestArtifact,
  type ManifestBinary,
} from '../artifacts/manifest.js';
import type { ProbeReport } from './board-probe.js';

export const INSTALL_ROOT = '/opt/crossdock';

export interface BoardLayout {
  root: string;
  versions: string;
  current: string;
  previous: string;
  incoming: string;
  /** Binaries by sha256, hard-linked into each version that has them: what an upgrade need not send. */
  objects: string;
  bin: string;
  units: string;
  /** dockerd's configuration file, written only when the inventory sets `daemon`. */
  daemonConfig: string;
  /** Where the docker CLI looks for plugins (compose, buildx): their links. */
  plugins: string;
  /** The remote API's TLS files (fleet tls). */
  tls: string;
  /** The systemd drop-in that has dockerd serve the remote API with them. */
  dropIn: string;
}

export function boardLayout(root = INSTALL_ROOT): BoardLayout {
  return {
    root,
    versions: `${root}/versions`,
    current: `${root}/current`,
    previous: `${root}/previous`,
    incoming: `${root}/incoming`,
    objects: `${root}/objects`,
    bin: '/usr/local/bin',
    plugins: CLI_PLUGIN_DIRECTORY,
    units: '/etc/systemd/system',
    daemonConfig: '/etc/docker/daemon.json',
    tls: '/etc/crossdock/tls',
    dropIn: '/etc/systemd/system/docker.service.d/crossdock-remote-api.conf',
  };
}

export type BundleChoice =
  { ok: true; bundle: ManifestArtifact; exact: boolean } | { ok: false; reason: string; hint: string };

/**
 * The board's own target's bundle; else one of a target the board also runs (an armv6 bundle
 * runs on a Pi 2); never one the board cannot run (armv7 on a Pi Zero).
 */
export function chooseBundle(manifest: Manifest, probe: ProbeReport): BundleChoice {
  const bundles = manifest.artifacts.filter((a) => a.kind === 'bundle');
  const have = bundles.map((b) => b.target).join(', ') || 'none';
  if (!probe.target || !probe.identity)
    return {
      ok: false,
      reason: `${probe.name}: unsupported board (${probe.refused ?? 'unknown'})`,
      hint: 'crossdock probe shows what the board reports',
    };
  const exact = bundles.find((b) => b.target === probe.target);
  if (exact) return { ok: true, bundle: exact, exact: true };
  for (const other of probe.identity.alsoRuns) {
    const compatible = bundles.find((b) => b.target === other);
    if (compatible) return { ok: true, bundle: compatible, exact: false };
  }
  const board = probe.identity.board?.name ?? probe.model ?? 'the board';
  return {
    ok: false,
    reason: `${probe.name}: ${board} needs a ${probe.target} bundle; ${manifest.version} has ${have}`,
    hint: `build it: crossdock build --target ${probe.target} --version ${manifest.version}`,
  };
}

/**
 * The board's record of a version holds exactly these binaries (by name and sha256): the same
 * build, whatever else its manifest says. Pure.
 */
export function sameBinaries(
  recorded: readonly Pick<ManifestBinary, 'name' | 'sha256'>[],
  wanted: readonly Pick<ManifestBinary, 'name' | 'sha256'>[],
): boolean {
  if (recorded.length !== wanted.length) return false;
  const byName = new Map(recorded.map((b) => [b.name, b.sha256]));
  return wanted.every((b) => byName.get(b.name) === b.sha256);
}

/** Versions to delete: all but the newest `keep`, never the active or the previous one. */
export function versionsToPrune(
  installed: readonly string[],
  active: string | null,
  previous: string | null,
  keep: number,
  order: (a: string, b: string) => number,
): string[] {
  const sorted = [...installed].sort(order).reverse();
  const kept = new Set(sorted.slice(0, Math.max(keep, 0)));
  if (active) kept.add(active);
  if (previous) kept.add(previous);
  return sorted.filter((version) => !kept.has(version));
}

export interface PreflightFinding {
  severity: 'error' | 'warning';
  message: string;
  fix: string;
  /** A fix `install --fix` may apply on its own: safe, idempotent, undoable. */
  autoFix?: { kind: 'cmdline'; file: string; line: string };
}

const MEMORY_CGROUP_ARGUMENTS = ['cgroup_enable=memory', 'cgroup_memory=1'];

/**
 * The Raspberry Pi kernel command line with the memory cgroup enabled: cmdline.txt must stay a
 * single line (the firmware reads only the first), so arguments are edited in place, never
 * appended as a new line, and a disabling argument is dropped.
 */
export function cmdlineWithMemoryCgroup(line: string): string {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((w) => w && w !== 'cgroup_disable=memory');
  for (const argument of MEMORY_CGROUP_ARGUMENTS) if (!words.includes(argument)) words.push(argument);
  return words.join(' ');
}

/** Packages whose daemons and binaries would fight ours for the same sockets and paths. */
const CONFLICTING = ['docker.io', 'docker-ce', 'containerd', 'containerd.io', 'runc'];

/**
 * What stands in the way of running this bundle on the board, from its probe: errors stop the
 * install before anything is sent, warnings are reported. A daemon only runs under systemd, so
 * what only the daemon needs (iptables, the memory cgroup) is an error there and a warning elsewhere.
 */
export function preflightFindings(probe: ProbeReport, bundleSize: number, root = INSTALL_ROOT): PreflightFinding[] {
  const findings: PreflightFinding[] = [];
  const daemon = probe.init === 'systemd';
  // The bundle, its unpacked binaries (about 3× for gzip'd Go binaries) and some room.
  const needed = bundleSize * 4 + 16 * 1024 * 1024;
  if (probe.freeDiskBytes !== null && probe.freeDiskBytes < needed)
    findings.push({
      severity: 'error',
      message: `${Math.floor(probe.freeDiskBytes / 1024 / 1024)} MiB free at ${root}, ${Math.ceil(needed / 1024 / 1024)} MiB needed`,
      fix: 'free some space (apt-get clean, old logs) and run again',
    });
  const conflicting = probe.docker.packages.filter((p) => CONFLICTING.includes(p.name));
  if (conflicting.length > 0)
    findings.push({
      severity: 'error',
      message: `distribution packages ${conflicting.map((p) => `${p.name} ${p.version}`).join(', ')} are installed`,
      fix: `remove them first: apt-get remove ${conflicting.map((p) => p.name).join(' ')}`,
    });
  if (!probe.memoryCgroup.enabled) {
    const { cmdlineFile, cmdline } = probe.memoryCgroup;
    const edited = cmdline === null ? null : cmdlineWithMemoryCgroup(cmdline);
    findings.push({
      severity: daemon ? 'error' : 'warning',
      message:
        cmdline !== null && edited === cmdline.trim()
          ? `the memory cgroup is disabled, though ${cmdlineFile ?? 'cmdline.txt'} enables it: the board has not rebooted since`
          : 'the memory cgroup is disabled',
      fix:
        cmdline !== null && edited === cmdline.trim()
          ? 'reboot the board, then run again'
          : (probe.memoryCgroup.fix ?? 'enable the memory cgroup on the kernel command line'),
      ...(cmdlineFile && cmdline !== null && edited !== null && edited !== cmdline.trim()
        ? { autoFix: { kind: 'cmdline' as const, file: cmdlineFile, line: edited } }
        : {}),
    });
  }
  if (daemon && probe.apparmor.enabled && !probe.apparmor.parser)
    findings.push({
      severity: 'error',
      message:
        'the kernel has AppArmor on and apparmor_parser is missing: dockerd cannot load its profile, so no container starts',
      fix: 'apt-get install apparmor (or boot with apparmor=0)',
    });
  if (daemon && probe.iptables === null)
    findings.push({
      severity: 'error',
      message: 'iptables is not installed; dockerd refuses to start without it ("Iptables not found")',
      fix: 'apt-get install iptables',
    });
  if (!daemon)
    findings.push({
      severity: 'warning',
      message: `no systemd (init is ${probe.init ?? 'unknown'}): the binaries are installed, the daemons are not started`,
      fix: 'boot the board with systemd to run dockerd',
    });
  return findings;
}

/** The steps of one board's install, in the order they run. */
export type HostStepName =
  | 'preflight'
  | 'signature'
  | 'send'
  | 'configure'
  | 'units'
  | 'switch'
  | 'restart'
  | 'health'
  | 'containers'
  | 'commit';

/** What the board is, read before anything changes: the facts a plan is made from. */
export interface HostFacts {
  probe: ProbeReport;
  /** The install layout's state (after a pending switch an earlier run left was reverted). */
  state: {
    current: string | null;
    systemd: boolean;
    daemonConfig: string | null;
    /** sha256s in the board's object store. */
    objects?: readonly string[];
    /** Bundles already in incoming/ (an interrupted run's, or downloaded). */
    incoming?: readonly string[];
  };
  /** The active version is this manifest's and answers its health check. */
  currentHealthy: boolean;
}

export type HostPlan =
  | { kind: 'refused'; reason: string; hint: string }
  | { kind: 'unchanged' }
  /** Same version, other daemon.json: written, restarted, health-checked. */
  | { kind: 'reconfigure'; bundle: ManifestArtifact; steps: HostStepName[] }
  | {
      kind: 'install';
      bundle: ManifestArtifact;
      /** The health-check image, sent where a daemon will run to start it. */
      image: ManifestArtifact | null;
      /**
       * What goes over the link: the whole bundle, or only the binaries the board's object store
       * lacks (every binary is checked against the manifest on the board either way).
       */
      send: SendPlan;
      steps: HostStepName[];
    };

type LinkPlan = { kind: 'bundle' } | { kind: 'objects'; missing: ManifestBinary[]; present: ManifestBinary[] };
export type SendPlan = LinkPlan | { kind: 'download'; fallback: LinkPlan };

/**
 * The whole bundle unless the board already holds some of its binaries by hash and the manifest
 * names the hash of each; a bundle the board already has in incoming/ (or downloads from the
 * release itself) costs the link nothing, so it stays the bundle. Pure.
 */
export function planSend(
  bundle: ManifestArtifact,
  state: HostFacts['state'],
  options: { boardDownloads?: boolean } = {},
): SendPlan {
  if ((state.incoming ?? []).includes(bundle.file)) return { kind: 'bundle' };
  // The board fetches the bundle from the release itself; if it cannot, the link carries only
  // what its store lacks, as it would without a release.
  if (options.boardDownloads) return { kind: 'download', fallback: linkPlan(bundle, state) };
  return linkPlan(bundle, state);
}

function linkPlan(bundle: ManifestArtifact, state: HostFacts['state']): LinkPlan {
  const binaries = bundle.binaries ?? [];
  const objects = new Set(state.objects ?? []);
  if (binaries.length === 0 || binaries.some((b) => !/^[0-9a-f]{64}$/.test(b.sha256))) return { kind: 'bundle' };
  const present = binaries.filter((b) => objects.has(b.sha256));
  if (present.length === 0) return { kind: 'bundle' };
  return { kind: 'objects', missing: binaries.filter((b) => !objects.has(b.sha256)), present };
}

/**
 * One board's plan, pure: refused (no bundle it can run), unchanged, a new daemon.json only, or
 * an install with exactly the steps it will run. A dry run prints these steps; the apply loop
 * runs them.
 */
export function planHost(
  facts: HostFacts,
  manifest: Manifest,
  options: { daemonConfigSha256: string | null; signed: boolean; boardDownloads?: boolean },
): HostPlan {
  const choice = chooseBundle(manifest, facts.probe);
  if (!choice.ok) return { kind: 'refused', reason: choice.reason, hint: choice.hint };
  const { state } = facts;
  const configChanged = options.daemonConfigSha256 !== null && options.daemonConfigSha256 !== state.daemonConfig;
  if (state.current === manifest.version && facts.currentHealthy)
    return configChanged
      ? {
          kind: 'reconfigure',
          bundle: choice.bundle,
          // The settings are applied with the signed build's checks like an install's, and the
          // daemons restarted only where systemd runs them (as the reconfigure does).
          steps: [
            ...(options.signed ? (['signature'] as const) : []),
            'configure',
            ...(state.systemd ? (['restart'] as const) : []),
            'health',
            'commit',
          ],
        }
      : { kind: 'unchanged' };
  const bundle = choice.bundle;
  const binaries = bundle.binaries ?? [];
  const image =
    (state.systemd &&
      binaries.some((b) => b.name === 'dockerd') &&
      manifest.artifacts.find((a) => a.kind === 'image' && a.target === bundle.target && a.image)) ||
    null;
  const steps: HostStepName[] = [
    'preflight',
    ...(options.signed ? (['signature'] as const) : []),
    'send',
    ...(options.daemonConfigSha256 !== null ? (['configure'] as const) : []),
    ...(state.systemd ? (['units'] as const) : []),
    'switch',
    ...(state.systemd ? (['restart'] as const) : []),
    'health',
    ...(image ? (['containers'] as const) : []),
    'commit',
  ];
  return {
    kind: 'install',
    bundle,
    image,
    send: planSend(bundle, state, { boardDownloads: options.boardDownloads ?? false }),
    steps,
  };
}
