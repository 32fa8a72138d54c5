import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectParts } from '../../src/builder/build.js';
import { DocumentError } from '../../src/document/document.js';
import { loadConfig } from '../../src/config/load.js';
import { tempTree } from '../helpers/temp.js';

async function configError(
  files: Record<string, string>,
  options: Parameters<typeof loadConfig>[0] = {},
): Promise<DocumentError> {
  const cwd = await tempTree(files);
  try {
    await loadConfig({ cwd, ...options });
  } catch (error) {
    if (error instanceof DocumentError) return error;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('loadConfig', () => {
  it('uses the defaults when there is no file', async () => {
    const cwd = await tempTree();
    const { config, file } = await loadConfig({ cwd });
    expect(file).toBeNull();
    expect(config.targets).toEqual(['x86_64', 'aarch64', 'armv7', 'armv6']);
    expect(config.build).toMatchObject({ outDir: join(cwd, 'dist'), smoke: true, smokeTimeoutSeconds: 120 });
    expect(config.install).toEqual({
      inventory: join(cwd, 'inventory.yaml'),
      hostKeys: 'strict',
      // The flags' own defaults: no canary wave, every board at once, stop at the first failure.
      waves: { canary: 0, maxFailPercent: 0 },
      healthTimeoutSeconds: 90,
    });
  });

  it('reads YAML, normalizes target names and resolves paths against the file', async () => {
    const cwd = await tempTree({
      'crossdock.yaml': 'targets: [linux/arm/v7, "raspbian:armhf", arm64]\nbuild:\n  outDir: out\n',
    });
    const { config, file } = await loadConfig({ cwd });
    expect(file).toBe(join(cwd, 'crossdock.yaml'));
    expect(config.targets).toEqual(['armv7', 'armv6', 'aarch64']);
    expect(config.build.outDir).toBe(join(cwd, 'out'));
  });

  it('reads JSON too', async () => {
    const cwd = await tempTree({
      'crossdock.json': '{\n  "targets": ["armv6"],\n  "release": { "repository": "acme/docker-arm" }\n}\n',
    });
    const { config } = await loadConfig({ cwd });
    expect(config.targets).toEqual(['armv6']);
    expect(config.release.repository).toBe('acme/docker-arm');
  });

  it('lets flags override the file, and undefined flags leave it alone', async () => {
    const cwd = await tempTree({
      'crossdock.yaml': 'targets: [armv6]\nbuild:\n  jobs: 4\n  outDir: out\n',
    });
    const { config } = await loadConfig({
      cwd,
      overrides: { target: ['aarch64', 'armv7'], jobs: undefined, 'out-dir': '/tmp/elsewhere' },
    });
    expect(config.targets).toEqual(['aarch64', 'armv7']);
    expect(config.build.jobs).toBe(4);
    expect(config.build.outDir).toBe('/tmp/elsewhere');
  });

  it('names file, line and column of an unknown key and suggests the right one', async () => {
    const error = await configError({
      'crossdock.yaml': 'targets: [armv6]\nbuild:\n  outdir: dist\n',
    });
    expect(error.message).toMatch(/crossdock\.yaml:3:3 build\.outdir: unknown key "outdir"$/);
    expect(error.hint).toMatch(/^did you mean "outDir"\? valid keys here: outDir, components/);
    expect(error.exitCode).toBe(2);
  });

  it('names the line of a value of the wrong type', async () => {
    const error = await configError({
      'crossdock.yaml': '# fleet\ntargets: [armv6]\ninstall:\n  waves:\n    canary: two\n',
    });
    expect(error.message).toMatch(/crossdock\.yaml:5:13 install\.waves\.canary: expected number, got "two"$/);
    expect(error.hint).toBe('change the value to number');
  });

  it('points at a bad list entry', async () => {
    const error = await configError({
      'crossdock.yaml': 'build:\n  components:\n    - dockerd\n    - dockred\n',
    });
    expect(error.message).toMatch(/crossdock\.yaml:4:7 build\.components\[1\]: unknown component "dockred"$/);
  });

  it('reports bad YAML with its position', async () => {
    const error = await configError({
      'crossdock.yaml': 'targets: [armv6\nbuild:\n  outDir: dist\n',
    });
    expect(error.message).toMatch(/^.*crossdock\.yaml:\d+:\d+: not valid YAML: /);
    expect(error.problems[0]?.line).toBeGreaterThanOrEqual(1);
  });

  it('reports bad JSON with its position', async () => {
    const error = await configError({ 'crossdock.json': '{\n  "targets": ["armv6",]\n}\n' });
    expect(error.message).toMatch(/crossdock\.json:2:23: not valid JSON: Unexpected token '\]'$/);
  });

  it('refuses duplicate keys', async () => {
    const error = await configError({ 'crossdock.yaml': 'targets: [armv6]\ntargets: [armv7]\n' });
    expect(error.message).toMatch(/crossdock\.yaml:2:1: not valid YAML: .*unique/i);
  });

  it('refuses an ambiguous target at its line, saying how to disambiguate', async () => {
    const error = await configError({ 'crossdock.yaml': 'targets:\n  - aarch64\n  - armhf\n' });
    expect(error.message).toMatch(/crossdock\.yaml:3:5 targets\[1\]: "armhf" is ambiguous/);
    expect(error.hint).toContain('debian:armhf (armv7)');
  });

  it('refuses the same target twice under different names', async () => {
    const error = await configError({ 'crossdock.yaml': 'targets: [armv7, linux/arm/v7]\n' });
    expect(error.message).toMatch(
      /crossdock\.yaml:1:18 targets\[1\]: "linux\/arm\/v7" is armv7, which is listed already/,
    );
  });

  it('checks the version is semver', async () => {
    const error = await configError({ 'crossdock.yaml': 'version: 27.5\n' });
    expect(error.message).toMatch(/crossdock\.yaml:1:10 version: expected string, got 27\.5/);
    const second = await configError({ 'crossdock.yaml': 'version: "v27.x"\n' });
    expect(second.message).toMatch(/version: "v27\.x" is not a semver version/);
  });

  it('names the flag, not the file, when a flag is wrong', async () => {
    const error = await configError({ 'crossdock.yaml': 'targets: [armv6]\n' }, { overrides: { target: ['armv9'] } });
    expect(error.message).toMatch(/^--target: unknown platform name "armv9"/);
    const jobs = await configError({}, { overrides: { jobs: 'many' } });
    expect(jobs.message).toBe('--jobs: expected number, got "many"');
  });

  it('collects every problem and says how many more there are', async () => {
    const error = await configError({
      'crossdock.yaml': 'targets: 5\nbogus: 1\nbuild: {jobs: 0}\n',
    });
    expect(error.problems.length).toBe(3);
    expect(error.message).toMatch(/\(and 2 more\)$/);
  });

  it("knows the components of the built-in recipes and the file's own", async () => {
    const error = await configError({ 'crossdock.yaml': 'build:\n  components: [runc, dockred]\n' });
    expect(error.message).toMatch(/crossdock\.yaml:2:22 build\.components\[1\]: unknown component "dockred"$/);
    expect(error.hint).toMatch(
      /^did you mean "dockerd"\? components: dockerd, docker-proxy, docker, containerd, containerd-shim-runc-v2, ctr, runc, docker-init, docker-compose, docker-buildx$/,
    );
    const cwd = await tempTree({
      'crossdock.yaml':
        'build:\n  components: [hello]\n  recipes:\n    - { name: hello, source: ./src, language: c, binaries: [{ name: hello, sources: [hello.c] }] }\n  targetFlags:\n    linux/arm/v6: { cflags: [-march=armv6] }\n',
    });
    const { config } = await loadConfig({ cwd });
    expect(config.build.components).toEqual(['hello']);
    expect(config.build.targetFlags).toEqual({ armv6: { cflags: ['-march=armv6'] } });
  });

  it('takes a source name as a component for all its binaries, and containerd as the one binary', async () => {
    const cwd = await tempTree({ 'crossdock.yaml': 'build:\n  components: [compose, buildx, moby, containerd]\n' });
    const { config } = await loadConfig({ cwd });
    expect(selectParts(config).flatMap((p) => p.binaries)).toEqual([
      'dockerd',
      'docker-proxy',
      'containerd',
      'docker-compose',
      'docker-buildx',
    ]);
  });

  it('refuses a source for a name no built-in source or recipe has, naming the known ones', async () => {
    const error = await configError({ 'crossdock.yaml': 'build:\n  sources:\n    buildxx: ./buildx\n' });
    expect(error.message).toMatch(/crossdock\.yaml:3:\d+ build\.sources\.buildxx: unknown source "buildxx"$/);
    expect(error.hint).toBe(
      'did you mean "buildx"? sources: moby, cli, containerd, runc, tini, compose, buildx (or a recipe of yours in build.recipes)',
    );
    expect(error.exitCode).toBe(2);
    const cwd = await tempTree({
      'crossdock.yaml':
        'build:\n  sources:\n    hello: ./src\n    buildx: ./buildx\n  recipes:\n    - { name: hello, source: hello, language: c, binaries: [{ name: hello, sources: [hello.c] }] }\n',
    });
    expect((await loadConfig({ cwd })).config.build.sources).toEqual({ hello: './src', buildx: './buildx' });
  });

  it('refuses a --config path that does not exist', async () => {
    const cwd = await tempTree();
    await expect(loadConfig({ cwd, file: 'nope.yaml' })).rejects.toThrow('--config nope.yaml: no such file');
  });
});
