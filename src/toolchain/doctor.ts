/**
 * `crossdock doctor`: what this host can do for each target, and for each missing thing the
 * exact command that fixes it. Checks look only (no `mutates` commands), so they run under
 * --dry-run too and `toolchain setup` plans its work from the same report.
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import type { BinfmtPaths } from '../binfmt/binfmt-misc.js';
import { defaultCacheDirectory } from '../fs/cache-directory.js';
import { cachedGos } from './go-toolchain.js';
import { binfmtStatus } from '../binfmt/binfmt.js';
import { findExecutable } from '../exec/find-executable.js';
import type { Runner } from '../exec/runner.js';
import { type Distribution, type DistributionFamily, hostDistribution, hostTarget } from '../platform/host.js';
import type { Target, TargetRegistry } from '../platform/targets.js';
import { expandTemplate, normalizeToolVersion, type Toolchain } from '../platform/toolchains.js';

export interface Check {
  id: string;
  title: string;
  ok: boolean;
  /** Required checks decide whether a target is ready; the others only inform. */
  required: boolean;
  detail: string;
  /** The exact command that fixes it, when it is not ok. */
  fix: string | null;
  /** What `toolchain setup` installs to fix it: apt packages and foreign dpkg architectures. */
  install?: { packages: string[]; foreignArchitecture?: string; group: string };
}

export interface TargetReadiness {
  target: string;
  native: boolean;
  ready: boolean;
  checks: Check[];
}

export interface DoctorReport {
  host: { target: string; distribution: string | null; checks: Check[] };
  targets: TargetReadiness[];
  /** Every requested target is ready. */
  ready: boolean;
}

export interface DoctorOptions {
  registry: TargetRegistry;
  toolchains: readonly Toolchain[];
  targets: readonly Target[];
  runner: Runner;
  binfmtPaths: BinfmtPaths;
  /** PATH to search; defaults to process.env.PATH. */
  path?: string;
  /** Where builds will write, for the disk-space check. */
  workDirectory?: string;
  /** crossdock's cache, for the Go toolchains it unpacked there. */
  cacheDirectory?: string;
  distribution?: Distribution;
  /** dpkg's foreign architectures, when known (setup adds the missing ones). */
  foreignArchitectures?: readonly string[];
  /** Free space below this is reported (a full engine build for four targets needs about this). */
  minimumFreeBytes?: number;
}

const GIB = 1024 ** 3;

export async function doctor(options: DoctorOptions): Promise<DoctorReport> {
  const host = hostTarget(options.registry);
  const distribution = options.distribution ?? hostDistribution();
  const family: DistributionFamily = distribution.family ?? 'debian';
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const aptInstall = (packages: readonly string[]) => `${sudo}apt-get install -y ${packages.join(' ')}`;
  const foreign = options.foreignArchitectures ?? (await dpkgForeignArchitectures(options.runner, options.path));
  const versionCache = new Map<string, Promise<string | null>>();
  const versionOf = (executable: string, args: readonly string[]) => {
    const key = `${executable} ${args.join(' ')}`;
    let version = versionCache.get(key);
    if (!version) {
      version = options.runner
        .run(executable, args, { allowFailure: true, timeoutMs: 30_000 })
        .then((result) => (result.exitCode === 0 ? result.stdout.trim() || result.stderr.trim() : null))
        .catch(() => null);
      versionCache.set(key, version);
    }
    return version;
  };

  const binfmt = new Map(
    binfmtStatus(
      {
        registry: options.registry,
        qemu: requireToolchain(options.toolchains, 'emulator'),
        paths: options.binfmtPaths,
        runner: options.runner,
        path: options.path,
      },
      options.targets,
    ).flatMap((handler) => handler.targets.map((name) => [name, handler] as const)),
  );

  const targets: TargetReadiness[] = [];
  for (const target of options.targets) {
    const native = target.name === host.name;
    const checks: Check[] = [];
    for (const toolchain of options.toolchains) {
      if (!toolchain.appliesTo.includes(native ? 'native' : 'foreign')) continue;
      const command = expandTemplate(toolchain.command, target);
      const packages = (native ? toolchain.nativePackages : toolchain.packages)[family].map((p) =>
        expandTemplate(p, target),
      );
      const executable = findExecutable(command, options.path);
      const id = toolchain.kind === 'c-compiler' ? 'c-compiler' : toolchain.kind === 'go' ? 'go' : 'qemu';
      if (!executable) {
        checks.push({
          id,
          title: toolchain.title,
          ok: false,
          required: true,
          detail: `${command} not found`,
          fix: aptInstall(packages),
          install: { packages, group: toolchain.title },
        });
      } else {
        const raw = await versionOf(executable, toolchain.versionArgs);
        const version = raw ? normalizeToolVersion(raw.split('\n')[0] ?? raw) : null;
        const ok = version !== null && semver.satisfies(version, toolchain.versionRange);
        checks.push({
          id,
          title: toolchain.title,
          ok,
          required: true,
          detail: version
            ? `${command} ${version}${ok ? '' : ` is outside ${toolchain.versionRange}`}`
            : `${command}: could not read its version`,
          fix: ok
            ? null
            : `install ${toolchain.title} ${toolchain.versionRange} (${packages.join(' ')} from a newer release)`,
        });
      }
      if (toolchain.kind === 'go') {
        const compiler = options.toolchains.find((t) => t.kind === 'c-compiler');
        const cc = compiler ? expandTemplate(compiler.command, target) : null;
        const ccFound = cc ? findExecutable(cc, options.path) : null;
        checks.push({
          id: 'cgo',
          title: 'cgo cross-compilation',
          ok: Boolean(executable && ccFound),
          required: true,
          detail: executable && ccFound ? `CGO_ENABLED=1 CC=${cc ?? ''}` : `needs go and ${cc ?? 'a C compiler'}`,
          fix: executable && ccFound ? null : 'fix the C compiler and Go checks above',
        });
      }
      for (const [library, definition] of Object.entries(toolchain.libraries)) {
        const file = join('/usr/lib', target.gnu.triple, definition.probe);
        const present = existsSync(file);
        const libraryPackages = definition.packages[family].map((p) => expandTemplate(p, target));
        const needsArchitecture = !native && !foreign.includes(target.debian);
        checks.push({
          id: `library:${library}`,
          title: `${library} for ${target.name} (${definition.usedBy.join(', ')})`,
          ok: present,
          required: true,
          detail: present ? file : `${file} missing`,
          fix: present
            ? null
            : [
                ...(needsArchitecture
                  ? [`${sudo}dpkg --add-architecture ${target.debian}`, `${sudo}apt-get update`]
                  : []),
                aptInstall(libraryPackages),
              ].join(' && '),
          ...(present
            ? {}
            : {
                install: {
                  packages: libraryPackages,
                  group: 'Target libraries',
                  ...(needsArchitecture ? { foreignArchitecture: target.debian } : {}),
                },
              }),
        });
      }
    }
    const handler = native ? undefined : binfmt.get(target.name);
    if (handler) {
      const ok = handler.state === 'ok' || handler.state === 'compatible';
      checks.push({
        id: 'binfmt',
        title: `binfmt_misc handler ${handler.name}`,
        ok,
        required: true,
        detail: ok
          ? `${handler.state === 'ok' ? 'registered' : 'registered by another tool'}: ${handler.interpreter.path} (flags ${handler.actual?.flags.join('') ?? ''})`
          : handler.problems.join('; '),
        fix: ok
          ? null
          : `${sudo}crossdock binfmt install --target ${target.name}${handler.state === 'conflict' ? ' --force' : ''}`,
      });
    }
    targets.push({ target: target.name, native, ready: checks.every((c) => c.ok || !c.required), checks });
  }

  const hostChecks = await hostCheckList(options, aptInstall);
  return {
    host: { target: host.name, distribution: distribution.prettyName, checks: hostChecks },
    targets,
    ready: targets.every((t) => t.ready) && hostChecks.every((c) => c.ok || !c.required),
  };
}

function requireToolchain(toolchains: readonly Toolchain[], kind: Toolchain['kind']): Toolchain {
  const found = toolchains.find((t) => t.kind === kind);
  if (!found) throw new Error(`toolchains/ defines no ${kind}`);
  return found;
}

async function dpkgForeignArchitectures(runner: Runner, path: string | undefined): Promise<string[]> {
  const dpkg = findExecutable('dpkg', path);
  if (!dpkg) return [];
  const result = await runner.run(dpkg, ['--print-foreign-architectures'], { allowFailure: true });
  return result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

async function hostCheckList(
  options: DoctorOptions,
  aptInstall: (packages: readonly string[]) => string,
): Promise<Check[]> {
  const tool = (id: string, command: string, packages: string[], why: string, required: boolean): Check => {
    const found = findExecutable(command, options.path) ?? findExecutable(command, '/usr/sbin:/sbin');
    return {
      id,
      title: `${command} (${why})`,
      ok: found !== null,
      required,
      detail: found ?? `${command} not found`,
      fix: found ? null : aptInstall(packages),
      ...(found ? {} : { install: { packages, group: 'Build host tools' } }),
    };
  };
  // Required: the build stage cannot run without them. The rest serve later stages.
  const checks = [
    tool('git', 'git', ['git'], 'sources', true),
    tool('tar', 'tar', ['tar'], 'packaging', true),
    tool('gzip', 'gzip', ['gzip'], 'packaging', true),
    tool('pkg-config', 'pkg-config', ['pkg-config'], 'cgo with libseccomp', true),
    tool('dpkg-source', 'dpkg-source', ['dpkg-dev'], 'Debian sources', true),
    tool('ssh', 'ssh', ['openssh-client'], 'install onto boards', false),
    tool('sshd', 'sshd', ['openssh-server'], 'emulated test boards', false),
    tool('debootstrap', 'debootstrap', ['debootstrap'], "the emulated boards' Debian rootfs", false),
    tool('ip', 'ip', ['iproute2'], "the emulated boards' network namespaces", false),
    tool('openssl', 'openssl', ['openssl'], 'fleet tls certificates', false),
    tool('skopeo', 'skopeo', ['skopeo'], 'tests read the health-check images with it', false),
  ];
  // Go newer than the system's: what `toolchain setup` or a build unpacked from Debian.
  const gos = await cachedGos(options.runner, options.cacheDirectory ?? defaultCacheDirectory());
  checks.push({
    id: 'go-cache',
    title: "Go toolchains in crossdock's cache (for sources newer than the system's Go)",
    ok: true,
    required: false,
    detail: gos.length
      ? gos.map((go) => `go${go.version} (${go.origin})`).join(', ')
      : 'none yet: toolchain setup (or the first build) fetches the Go its sources need',
    fix: null,
  });
  const directory = options.workDirectory ?? process.cwd();
  const minimum = options.minimumFreeBytes ?? 10 * GIB;
  try {
    const stats = await statfs(directory);
    const free = stats.bavail * stats.bsize;
    checks.push({
      id: 'disk',
      title: `free disk space in ${directory}`,
      ok: free >= minimum,
      required: false,
      detail: `${(free / GIB).toFixed(1)} GiB free${free >= minimum ? '' : `, below ${(minimum / GIB).toFixed(0)} GiB`}`,
      fix: free >= minimum ? null : `free space or build elsewhere (--out-dir)`,
    });
  } catch {
    // A missing work directory is reported by the stage that needs it.
  }
  return checks;
}
