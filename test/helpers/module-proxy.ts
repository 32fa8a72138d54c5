/**
 * A GOPROXY on disk (GOPROXY=file:///…) holding small modules of a test's own, and the go.sum
 * lines that vouch for them, computed as the go command does (dirhash "h1:"). Zip files are
 * written stored (no compression), which the go command reads like any other.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface TestModule {
  path: string;
  version: string;
  /** Files by path inside the module; go.mod among them. */
  files: Record<string, string>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();

/** dirhash Hash1: sha256 over "<hex sha256>  <name>\n" lines, sorted by name, base64. */
function hash1(files: Array<[string, string]>): string {
  const summary = [...files]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, content]) => `${sha256(content).toString('hex')}  ${name}\n`)
    .join('');
  return `h1:${sha256(summary).toString('base64')}`;
}

function storedZip(entries: Array<[string, string]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const data = Buffer.from(content);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Writes the proxy under `directory`; returns the go.sum text for every module. */
export async function writeModuleProxy(directory: string, modules: readonly TestModule[]): Promise<string> {
  const sums: string[] = [];
  for (const module of modules) {
    const base = join(directory, module.path, '@v');
    await mkdir(base, { recursive: true });
    const prefix = `${module.path}@${module.version}/`;
    const entries = Object.entries(module.files).map(([name, content]): [string, string] => [
      `${prefix}${name}`,
      content,
    ]);
    const goMod = module.files['go.mod'] ?? `module ${module.path}\n`;
    await writeFile(join(base, 'list'), `${module.version}\n`);
    await writeFile(
      join(base, `${module.version}.info`),
      JSON.stringify({ Version: module.version, Time: '2026-01-01T00:00:00Z' }),
    );
    await writeFile(join(base, `${module.version}.mod`), goMod);
    await writeFile(join(base, `${module.version}.zip`), storedZip(entries));
    sums.push(`${module.path} ${module.version} ${hash1(entries)}`);
    sums.push(`${module.path} ${module.version}/go.mod ${hash1([['go.mod', goMod]])}`);
  }
  return `${sums.sort().join('\n')}\n`;
}
