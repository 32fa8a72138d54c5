import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/artifacts/checksums.js';
import { imageArchive } from '../../src/builder/image-archive.js';
import { tarBuffer } from '../../src/builder/tar.js';
import { containerHealthScript, parseContainerHealth } from '../../src/install/container-health.js';
import { daemonJson, layerDaemonConfig } from '../../src/engine/daemon-config.js';
import { loadInventory } from '../../src/remote/inventory.js';
import { tempTree } from '../helpers/temp.js';

describe('daemon settings in the inventory', () => {
  it('layers defaults < groups < host key by key, and writes sorted, stable JSON', async () => {
    const directory = await tempTree({
      'inventory.yaml': [
        'defaults:',
        '  daemon: { log-driver: json-file, log-opts: { max-size: 10m, max-file: "3" }, live-restore: true }',
        'hosts:',
        '  zero-1: { address: 10.0.0.11, daemon: { registry-mirrors: [https://mirror.lan:5000] } }',
        '  four-1: { address: 10.0.0.21 }',
        '  plain: { address: 10.0.0.31 }',
        'groups:',
        '  fours: { hosts: [four-1], daemon: { log-opts: { max-size: 50m }, data-root: /mnt/usb/docker } }',
        '',
      ].join('\n'),
    });
    const inventory = await loadInventory(join(directory, 'inventory.yaml'));
    const [zero, four] = inventory.hosts;
    expect(zero?.daemon).toEqual({
      'log-driver': 'json-file',
      'log-opts': { 'max-size': '10m', 'max-file': '3' },
      'live-restore': true,
      'registry-mirrors': ['https://mirror.lan:5000'],
    });
    // A group's log-opts replaces the defaults' whole: no max-file left over from below.
    expect(four?.daemon).toEqual({
      'log-driver': 'json-file',
      'log-opts': { 'max-size': '50m' },
      'live-restore': true,
      'data-root': '/mnt/usb/docker',
    });
    expect(daemonJson(zero?.daemon ?? {})).toBe(
      '{\n  "live-restore": true,\n  "log-driver": "json-file",\n  "log-opts": {\n    "max-file": "3",\n    "max-size": "10m"\n  },\n  "registry-mirrors": [\n    "https://mirror.lan:5000"\n  ]\n}\n',
    );
    expect(layerDaemonConfig([undefined, undefined])).toBeNull();
  });

  it('refuses what dockerd would refuse, naming the file, line and key', async () => {
    const cases: Array<[string, RegExp]> = [
      ['hosts:\n  a: { daemon: { log-opts: { max-size: 10 } } }\n', /:2:\d+ hosts\.a\.daemon\.log-opts\.max-size: /],
      [
        'hosts:\n  a:\n    daemon:\n      registry-mirror: [x]\n',
        /:4:\d+ hosts\.a\.daemon\.registry-mirror: unknown key/,
      ],
      [
        'hosts:\n  a: { daemon: { data-root: var/lib/docker } }\n',
        /hosts\.a\.daemon\.data-root: expected an absolute path/,
      ],
      [
        'hosts:\n  a: { daemon: { registry-mirrors: [mirror.lan] } }\n',
        /registry-mirrors\[0\]: expected an http\(s\) URL/,
      ],
    ];
    for (const [text, message] of cases) {
      const directory = await tempTree({ 'inventory.yaml': text });
      await expect(loadInventory(join(directory, 'inventory.yaml'))).rejects.toThrow(message);
    }
  });
});

describe('the health-check image archive', () => {
  it('names its config by digest, its layer by diff ID, and is the same bytes every time', async () => {
    const input = {
      repository: 'crossdock/probe',
      tagPrefix: 'armv6',
      platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
      files: [{ path: 'crossdock-probe', content: Buffer.from('\x7fELF pretend'), mode: 0o755 }],
      entrypoint: ['/crossdock-probe'],
      epoch: 1767225600,
    };
    const first = await imageArchive(input);
    const second = await imageArchive(input);
    expect(await tarBuffer(second.entries, 1)).toEqual(await tarBuffer(first.entries, 1));
    const other = await imageArchive({
      ...input,
      files: [{ path: 'crossdock-probe', content: Buffer.from('other'), mode: 0o755 }],
    });
    expect(other.id).not.toBe(first.id);
    expect(other.tag).not.toBe(first.tag);

    // Read back with the system's tar, as docker load would.
    const directory = await tempTree();
    await writeFile(join(directory, 'image.tar'), await tarBuffer(first.entries, input.epoch));
    await execa('tar', ['-xf', 'image.tar'], { cwd: directory });
    const [manifest] = JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8')) as [
      { Config: string; RepoTags: string[]; Layers: [string] },
    ];
    const configBytes = readFileSync(join(directory, manifest.Config));
    expect(`sha256:${sha256(configBytes)}`).toBe(first.id);
    expect(manifest.Config).toBe(`${first.id.slice(7)}.json`);
    expect(manifest.RepoTags).toEqual([first.tag]);
    expect(first.tag).toBe(`crossdock/probe:armv6-${first.id.slice(7, 19)}`);
    const layer = readFileSync(join(directory, manifest.Layers[0]));
    const config = JSON.parse(configBytes.toString()) as {
      architecture: string;
      variant: string;
      created: string;
      rootfs: { diff_ids: string[] };
    };
    expect(config.rootfs.diff_ids).toEqual([`sha256:${sha256(layer)}`]);
    expect(config).toMatchObject({ architecture: 'arm', variant: 'v6', created: '2026-01-01T00:00:00Z' });
    const listing = await execa('tar', ['-tvf', join(directory, manifest.Layers[0])]);
    expect(listing.stdout).toMatch(/^-rwxr-xr-x root\/root .* 2026-01-01 00:00 crossdock-probe$/);
  });
});

describe('the container health check', () => {
  const image = {
    file: "/opt/crossdock/versions/1.0.0'x.probe.tar",
    tag: 'crossdock/probe:armv6-0123456789ab',
    id: 'sha256:00',
  };

  it('is a script sh accepts, with the file name quoted', async () => {
    const script = containerHealthScript(image, '/usr/local/bin/docker', 'cafe01');
    await execa('sh', ['-n', '-c', script]);
    expect(script).toContain(`'/opt/crossdock/versions/1.0.0'\\''x.probe.tar'`);
  });

  it('is ok only when the container ran and both network paths answered', () => {
    const all =
      '\n@@crossdock:run\ncrossdock-probe ok aarch64\n\n@@crossdock:bridge\ncrossdock-probe t\n\n@@crossdock:published\ncrossdock-probe t\n';
    expect(parseContainerHealth(all, 0)).toEqual({
      ok: true,
      run: 'crossdock-probe ok aarch64',
      bridge: 'crossdock-probe t',
      published: 'crossdock-probe t',
      problem: null,
    });
    const bridge = parseContainerHealth(
      '\n@@crossdock:run\ncrossdock-probe ok aarch64\n\n@@crossdock:problem\na container on the default bridge does not reach the host at 172.17.0.1:32768: crossdock-probe: no answer\n',
      1,
    );
    expect(bridge).toMatchObject({
      ok: false,
      bridge: null,
      problem: expect.stringContaining('does not reach the host'),
    });
    expect(parseContainerHealth('', 137)).toMatchObject({
      ok: false,
      problem: 'the container check exited 137 without saying why',
    });
  });
});
