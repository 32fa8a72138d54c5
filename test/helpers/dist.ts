/**
 * Dist directories in the layout `crossdock build` writes (docker-<v>-<target>.tgz holding
 * docker/…, systemd units, manifest.json, SHA256SUMS), for stages that consume them. The bundles
 * are real gzip'd tar archives; `payload` varies their bytes so tests can make "another build".
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256, sha256File, formatSha256Sums } from '../../src/artifacts/checksums.js';
import { bundleName, type Manifest, type ManifestArtifact, serializeManifest } from '../../src/artifacts/manifest.js';
import { writeTarGz } from '../../src/builder/tar.js';
import type { Target } from '../../src/platform/targets.js';
import { execa } from 'execa';

export interface TestDistOptions {
  version: string;
  targets: string[];
  /** Size of the random binary inside each bundle (incompressible, so the .tgz is about this big). */
  binaryBytes?: number;
  /** Same seed, same bytes: two dists of "the same build". */
  seed?: string;
}

export async function makeDist(parent: string, options: TestDistOptions): Promise<string> {
  const directory = join(parent, options.version);
  await mkdir(join(directory, 'systemd'), { recursive: true });
  const artifacts: ManifestArtifact[] = [];
  for (const target of options.targets) {
    const file = bundleName(options.version, target);
    const binary = options.seed
      ? deterministicBytes(`${options.seed}:${target}`, options.binaryBytes ?? 4096)
      : randomBytes(options.binaryBytes ?? 4096);
    await writeTarGz(
      join(directory, file),
      [
        { path: 'docker', type: 'directory' },
        { path: 'docker/dockerd', type: 'file', mode: 0o755, content: binary },
        { path: 'docker/VERSION', type: 'file', mode: 0o644, content: Buffer.from(`${options.version}\n`) },
      ],
      1767225600,
    );
    const data = await readFile(join(directory, file));
    artifacts.push({ kind: 'bundle', file, target, size: data.length, sha256: sha256(data) });
  }
  await finishDist(directory, {
    version: options.version,
    targets: options.targets,
    artifacts,
    sources: [{ recipe: 'moby', spec: 'debian:docker.io', revision: '20.10.24+dfsg1-1', version: '20.10.24' }],
    toolchains: { go: 'go1.19.8' },
  });
  return directory;
}

function deterministicBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = Buffer.from(seed);
  for (let offset = 0; offset < length; offset += 32) {
    block = Buffer.from(sha256(block), 'hex');
    block.copy(out, offset);
  }
  return out;
}

// \`docker <command> version\` starts docker-<command> from $DOCKER_CONFIG/cli-plugins, else from
// /usr/local/lib/docker/cli-plugins, as the real CLI does: its metadata first, then the command.
const VERSION_PROGRAM = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  const char *name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  if (argc > 1 && strcmp(argv[1], "--version") == 0) { printf("%s version %s\\n", name, LINE); return 0; }
  if (strcmp(name, "docker") == 0 && argc > 2) {
    char plugin[4096] = "";
    if (getenv("DOCKER_CONFIG")) snprintf(plugin, sizeof plugin, "%s/cli-plugins/docker-%s", getenv("DOCKER_CONFIG"), argv[1]);
    if (!plugin[0] || access(plugin, X_OK) != 0) snprintf(plugin, sizeof plugin, "/usr/local/lib/docker/cli-plugins/docker-%s", argv[1]);
    pid_t child = fork();
    if (child == 0) { if (!freopen("/dev/null", "w", stdout)) _exit(126); execl(plugin, plugin, "docker-cli-plugin-metadata", (char *)0); _exit(127); }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "docker: '%s' is not a docker command.\\n", argv[1]); return 1; }
    execv(plugin, argv);
    return 127;
  }
  return 0;
}
`;

const PLUGIN_PROGRAM = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "docker-cli-plugin-metadata") == 0) { printf("{\\"SchemaVersion\\":\\"0.1.0\\",\\"Version\\":\\"v%s\\"}\\n", LINE); return 0; }
  int i = argc > 1 && strcmp(argv[1], "compose") == 0 ? 2 : 1;
  if (argc > i && strcmp(argv[i], "version") == 0) { printf("Docker Compose version v%s\\n", LINE); return 0; }
  return 1;
}
`;

export const RUNNABLE_BINARIES = ['dockerd', 'containerd', 'runc', 'docker'];

/**
 * A dist whose bundles hold real static programs of each target (compiled with the target's
 * cross compiler and flags) that answer `--version` as the manifest's smoke line says, so an
 * install can health-check them on a board. `broken` makes dockerd answer something else.
 */
export async function makeRunnableDist(
  parent: string,
  options: {
    version: string;
    targets: Target[];
    broken?: boolean;
    /** Incompressible bytes added as docker/payload, for a bundle the size of a real one. */
    payloadBytes?: number;
    /**
     * Binaries as a real build's: each answers its own version (`components`, default the
     * dist's), carries `binaryPadding` bytes of noise seeded by its name and version (so an
     * unchanged component is byte for byte the same in two dists), and the manifest has its
     * size and sha256, as content-addressed upgrades need.
     */
    components?: Record<string, string>;
    binaryPadding?: number;
    /** Adds the compose CLI plugin (docker/cli-plugins/docker-compose), checked through `docker`. */
    plugin?: boolean;
  },
): Promise<string> {
  const directory = join(parent, options.version);
  await mkdir(join(directory, 'systemd'), { recursive: true });
  const work = join(parent, `.work-${options.version}`);
  await mkdir(work, { recursive: true });
  const artifacts: ManifestArtifact[] = [];
  for (const target of options.targets) {
    const source = join(work, `version-${target.name}.c`);
    await writeFile(source, VERSION_PROGRAM);
    const program = join(work, `version-${target.name}`);
    const broken = join(work, `broken-${target.name}`);
    const compile = (output: string, line: string, file = source) =>
      execa(`${target.gnu.triple}-gcc`, [
        ...target.gnu.cflags,
        '-static',
        '-O2',
        `-DLINE="${line}"`,
        '-o',
        output,
        file,
      ]);
    await compile(program, options.version);
    if (options.broken) await compile(broken, 'unusable');
    const realistic = options.components !== undefined || options.binaryPadding !== undefined;
    const contents = new Map<string, Buffer>();
    if (realistic)
      for (const name of RUNNABLE_BINARIES) {
        const line = options.components?.[name] ?? options.version;
        const own = join(work, `${name}-${line}-${target.name}`);
        await compile(own, line);
        // ELF ignores what follows its segments: the noise makes the binary the size of a real one.
        const noise = deterministicBytes(`${name}:${line}:${target.name}`, options.binaryPadding ?? 0);
        contents.set(name, Buffer.concat([await readFile(own), noise]));
      }
    // Every binary's bytes, so the manifest has each one's size and sha256 as a build's has.
    if (!realistic)
      for (const name of RUNNABLE_BINARIES)
        contents.set(name, await readFile(options.broken && name === 'dockerd' ? broken : program));
    const pluginSource = join(work, `plugin-${target.name}.c`);
    const pluginProgram = join(work, `plugin-${target.name}`);
    if (options.plugin) {
      await writeFile(pluginSource, PLUGIN_PROGRAM);
      await compile(pluginProgram, options.version, pluginSource);
    }
    const plugin = options.plugin ? await readFile(pluginProgram) : null;
    const entries = RUNNABLE_BINARIES.map((name) => {
      const content = contents.get(name);
      return content
        ? { path: `docker/${name}`, type: 'file' as const, mode: 0o755, content }
        : {
            path: `docker/${name}`,
            type: 'file' as const,
            mode: 0o755,
            source: options.broken && name === 'dockerd' ? broken : program,
          };
    });
    const file = bundleName(options.version, target.name);
    const payload = options.payloadBytes
      ? [{ path: 'docker/payload', type: 'file' as const, mode: 0o644, content: randomBytes(options.payloadBytes) }]
      : [];
    const plugins = plugin
      ? [
          { path: 'docker/cli-plugins', type: 'directory' as const },
          { path: 'docker/cli-plugins/docker-compose', type: 'file' as const, mode: 0o755, content: plugin },
        ]
      : [];
    await writeTarGz(
      join(directory, file),
      [{ path: 'docker', type: 'directory' }, ...entries, ...payload, ...plugins],
      1767225600,
    );
    const data = await readFile(join(directory, file));
    artifacts.push({
      kind: 'bundle',
      file,
      target: target.name,
      size: data.length,
      sha256: sha256(data),
      binaries: RUNNABLE_BINARIES.map((name) => ({
        name,
        component: name,
        size: contents.get(name)?.length ?? 0,
        sha256: sha256(contents.get(name) ?? Buffer.alloc(0)),
        armArch: null,
        source: { spec: 'test', revision: 'test', version: options.version },
        flags: { env: {}, args: [] },
        smoke: {
          args: ['--version'],
          cpu: null,
          firstLine: `${name} version ${options.components?.[name] ?? options.version}`,
        },
        go: null,
      })),
    });
    const bundleBinaries = artifacts.at(-1)?.binaries;
    if (plugin && bundleBinaries)
      bundleBinaries.push({
        name: 'docker-compose',
        component: 'compose',
        size: plugin.length,
        sha256: sha256(plugin),
        armArch: null,
        source: { spec: 'test', revision: 'test', version: options.version },
        flags: { env: {}, args: [] },
        smoke: { args: ['version'], cpu: null, firstLine: `Docker Compose version v${options.version}` },
        go: null,
        plugin: { command: 'compose', firstLine: `Docker Compose version v${options.version}` },
      });
  }
  await finishDist(directory, {
    version: options.version,
    targets: options.targets.map((t) => t.name),
    artifacts,
    sources: [],
    toolchains: {},
  });
  return directory;
}

/** The systemd unit, manifest.json and SHA256SUMS, as the build writes them beside the bundles. */
async function finishDist(
  directory: string,
  init: Pick<Manifest, 'version' | 'targets' | 'artifacts' | 'sources' | 'toolchains'>,
): Promise<void> {
  const unit = '[Unit]\nDescription=Docker Application Container Engine\n';
  await writeFile(join(directory, 'systemd/docker.service'), unit);
  const artifacts: ManifestArtifact[] = [
    ...init.artifacts,
    { kind: 'unit', file: 'systemd/docker.service', target: null, size: unit.length, sha256: sha256(unit) },
  ];
  const manifest: Manifest = {
    schemaVersion: 1,
    tool: 'crossdock-test',
    sourceDateEpoch: 1767225600,
    ...init,
    artifacts,
  };
  await writeFile(join(directory, 'manifest.json'), serializeManifest(manifest));
  const sums = [
    ...artifacts.map((a) => ({ name: a.file, sha256: a.sha256 })),
    { name: 'manifest.json', sha256: await sha256File(join(directory, 'manifest.json')) },
  ];
  await writeFile(join(directory, 'SHA256SUMS'), formatSha256Sums(sums));
}
