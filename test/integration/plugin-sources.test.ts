/**
 * CLI plugin sources (#26) with real Go, real QEMU and binfmt_misc: a compose-shaped source that
 * vendors nothing gets its modules through a file:// GOPROXY of the test's own, checked against
 * go.sum; no proxy is one line and exit 3; and the plugin is checked through a docker CLI of the
 * test's own (a small Go program that starts plugins as the real CLI does: metadata first) for
 * armv6 under QEMU's arm1176, the plugin started by the CLI through binfmt_misc.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/builder/build.js';
import { loadConfig } from '../../src/config/load.js';
import { MissingPrerequisiteError } from '../../src/errors.js';
import { LocalRunner } from '../../src/exec/local-runner.js';
import { loadTargets } from '../../src/platform/targets.js';
import { loadToolchains } from '../../src/platform/toolchains.js';
import { writeModuleProxy } from '../helpers/module-proxy.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

const registry = await loadTargets();
const toolchains = await loadToolchains();
const ready = requireTools('go', 'tar', 'qemu-arm-static');
const binfmt = existsSync('/proc/sys/fs/binfmt_misc/qemu-arm');

const GREET = {
  path: 'example.com/greet',
  version: 'v1.0.0',
  files: {
    'go.mod': 'module example.com/greet\n\ngo 1.19\n',
    'greet.go': 'package greet\n\nfunc Word() string { return "Docker Compose" }\n',
  },
};

const COMPOSE_MAIN = `package main

import (
	"fmt"
	"os"

	"example.com/greet"
	"github.com/docker/compose/v2/internal"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "docker-cli-plugin-metadata" {
		fmt.Printf("{\\"SchemaVersion\\":\\"0.1.0\\",\\"Vendor\\":\\"crossdock tests\\",\\"Version\\":\\"%s\\",\\"ShortDescription\\":\\"%s\\"}\\n", internal.Version, greet.Word())
		return
	}
	if len(args) > 0 && args[0] == "compose" {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "version" {
		fmt.Printf("%s version %s\\n", greet.Word(), internal.Version)
		return
	}
	os.Exit(1)
}
`;

/** Starts plugins as docker/cli does: $DOCKER_CONFIG/cli-plugins/docker-<command>, metadata first. */
const CLI_MAIN = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

var version = "dev"

func main() {
	if len(os.Args) < 2 || os.Args[1] == "--version" {
		fmt.Printf("Docker version %s, build test\\n", version)
		return
	}
	plugin := filepath.Join(os.Getenv("DOCKER_CONFIG"), "cli-plugins", "docker-"+os.Args[1])
	metadata, err := exec.Command(plugin, "docker-cli-plugin-metadata").Output()
	if err != nil || !strings.Contains(string(metadata), "SchemaVersion") {
		fmt.Fprintf(os.Stderr, "docker: '%s' is not a docker command. (failed to fetch metadata: %v)\\n", os.Args[1], err)
		os.Exit(1)
	}
	run := exec.Command(plugin, os.Args[1:]...)
	run.Stdout, run.Stderr = os.Stdout, os.Stderr
	if err := run.Run(); err != nil {
		os.Exit(1)
	}
}
`;

async function composeSource(root: string, goSum: string): Promise<string> {
  const source = join(root, 'compose');
  await mkdir(join(source, 'cmd'), { recursive: true });
  await mkdir(join(source, 'internal'), { recursive: true });
  await writeFile(
    join(source, 'go.mod'),
    'module github.com/docker/compose/v2\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n',
  );
  await writeFile(join(source, 'go.sum'), goSum);
  await writeFile(join(source, 'cmd', 'main.go'), COMPOSE_MAIN);
  await writeFile(join(source, 'internal', 'variables.go'), 'package internal\n\nvar Version = "dev"\n');
  return source;
}

async function buildIn(root: string, yaml: string, env: Record<string, string>) {
  await writeFile(join(root, 'crossdock.yaml'), yaml);
  const { config, baseDirectory } = await loadConfig({ cwd: root });
  const saved = { ...process.env };
  // The developer's own GOFLAGS must not change what the go command does here.
  process.env = { ...saved, GOFLAGS: '', ...env };
  try {
    return await build({ config, baseDirectory, registry, toolchains, runner: new LocalRunner() });
  } finally {
    process.env = saved;
  }
}

describe.skipIf(!ready)('CLI plugin sources', () => {
  it('fetches a module-only source through GOPROXY, checks it against go.sum, and refuses without a proxy', async () => {
    const root = await tempTree();
    const proxy = join(root, 'proxy');
    const goSum = await writeModuleProxy(proxy, [GREET]);
    await composeSource(root, goSum);
    const yaml = (cache: string) =>
      `version: 2.40.9\ntargets: [x86_64]\nbuild:\n  components: [docker-compose]\n  sources: { compose: ./compose }\n  cacheDir: ${cache}\n  outDir: dist\n`;

    const result = await buildIn(root, yaml('cache'), { GOPROXY: `file://${proxy}` });
    const bundle = result.manifest.artifacts.find((a) => a.kind === 'bundle');
    const plugin = bundle?.binaries?.find((b) => b.name === 'docker-compose');
    expect(plugin?.plugin).toEqual({ command: 'compose', firstLine: null });
    expect(plugin?.smoke?.firstLine).toBe('Docker Compose version v2.40.9');
    // The module the proxy served is in the build info, and so in the SBOM.
    expect(plugin?.go?.dependencies.map((d) => `${d.path}@${d.version}`)).toContain('example.com/greet@v1.0.0');
    const sbom = readFileSync(join(result.directory, 'docker-2.40.9-x86_64.spdx.json'), 'utf8');
    expect(sbom).toContain('example.com/greet');
    // In the bundle under docker/cli-plugins/, as the CLI's plugin directory has it.
    const listing = await execa('tar', ['-tzf', join(result.directory, bundle?.file ?? '')]);
    expect(listing.stdout.split('\n')).toEqual(['docker/', 'docker/cli-plugins/', 'docker/cli-plugins/docker-compose']);

    // A go.sum that does not vouch for what the proxy serves stops the build, as go does.
    await writeFile(join(root, 'compose', 'go.sum'), goSum.replace(/h1:[A-Za-z0-9+/]{10}/, 'h1:AAAAAAAAAA'));
    await expect(buildIn(root, yaml('cache-2'), { GOPROXY: `file://${proxy}` })).rejects.toThrow(
      /build\.sources\.compose: its Go modules could not be fetched.*(checksum mismatch|SECURITY ERROR|verifying)/i,
    );

    // No proxy answers: one line naming the source and the ways out, exit 3.
    await writeFile(join(root, 'compose', 'go.sum'), goSum);
    const refused = await buildIn(root, yaml('cache-3'), { GOPROXY: 'off' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MissingPrerequisiteError);
    expect((refused as MissingPrerequisiteError).message).toMatch(
      /^build\.sources\.compose: its Go modules could not be fetched through GOPROXY=off: /,
    );
    expect((refused as MissingPrerequisiteError).message).not.toContain('\n');
    expect((refused as MissingPrerequisiteError).hint).toMatch(/GOPROXY.*vendor\/.*debian:docker-compose@forky/);
    expect((refused as MissingPrerequisiteError).exitCode).toBe(3);
  });

  it.skipIf(!binfmt)(
    "checks an armv6 plugin through the target's own CLI under arm1176, the plugin started through binfmt_misc",
    async () => {
      const root = await tempTree();
      const proxy = join(root, 'proxy');
      await composeSource(root, await writeModuleProxy(proxy, [GREET]));
      await mkdir(join(root, 'cli', 'cmd', 'docker'), { recursive: true });
      await writeFile(join(root, 'cli', 'go.mod'), 'module example.com/cli\n\ngo 1.19\n');
      await writeFile(join(root, 'cli', 'cmd', 'docker', 'main.go'), CLI_MAIN);
      const result = await buildIn(
        root,
        `version: 2.40.9
targets: [armv6]
build:
  components: [docker, docker-compose]
  sources: { compose: ./compose }
  cacheDir: cache
  outDir: dist
  recipes:
    - name: cli
      source: ./cli
      language: go
      binaries: [{ name: docker, package: ./cmd/docker, ldflags: ['-X main.version={version}'] }]
`,
        { GOPROXY: `file://${proxy}` },
      );
      const binaries = result.manifest.artifacts.find((a) => a.kind === 'bundle')?.binaries ?? [];
      const plugin = binaries.find((b) => b.name === 'docker-compose');
      expect(plugin?.armArch).toBe('v6');
      // The line came from the plugin, started by the armv6 CLI after its metadata call.
      expect(plugin?.plugin).toEqual({ command: 'compose', firstLine: 'Docker Compose version v2.40.9' });
      expect(plugin?.smoke?.cpu).toBe('arm1176');
    },
  );
});
