/** known_hosts handling checked against what OpenSSH's own ssh-keygen writes and finds. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  hostKeyAlgorithms,
  knownHostsAppendix,
  knownHostsLine,
  parseKnownHosts,
  verifyHostKey,
} from '../../src/remote/known-hosts.js';
import { tempTree } from '../helpers/temp.js';
import { requireTools } from '../helpers/tools.js';

async function hostKey(directory: string, name: string, algorithm = 'ed25519') {
  await execa('ssh-keygen', ['-q', '-t', algorithm, '-N', '', '-f', join(directory, name)]);
  const publicLine = (await readFile(join(directory, `${name}.pub`), 'utf8')).trim();
  const [type, base64] = publicLine.split(' ');
  return { type: type ?? '', blob: Buffer.from(base64 ?? '', 'base64'), publicLine };
}

describe.runIf(requireTools('ssh-keygen'))('known_hosts', () => {
  it('refuses a key of a new type where another type is pinned, and asks for the pinned type first (#17 low)', async () => {
    const directory = await tempTree();
    const pinned = await hostKey(directory, 'rsa', 'rsa');
    const offered = await hostKey(directory, 'ed', 'ed25519');
    const entries = parseKnownHosts(`pi-a ${pinned.publicLine}\n`);
    // Trust on first use is for a host never seen: this one was, with an RSA key.
    expect(verifyHostKey(entries, 'pi-a', 22, offered.blob)).toEqual({
      kind: 'other-type',
      line: 1,
      pinned: 'ssh-rsa',
      presented: 'ssh-ed25519',
    });
    expect(verifyHostKey(entries, 'pi-b', 22, offered.blob).kind).toBe('unknown');
    expect(hostKeyAlgorithms(entries, 'pi-a', 22).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms(entries, 'pi-b', 22)[0]).toBe('ssh-ed25519');
  });

  it('lower-cases a host name before hashing it, as ssh does (#17 low)', async () => {
    const directory = await tempTree();
    const key = await hostKey(directory, 'k');
    const file = join(directory, 'known_hosts');
    await writeFile(file, knownHostsLine('Pi-Kitchen.LAN', 22, key.blob));
    // OpenSSH finds what we wrote under the lower-case name, and we find what it would look up.
    expect((await execa('ssh-keygen', ['-F', 'pi-kitchen.lan', '-f', file], { reject: false })).exitCode).toBe(0);
    expect(verifyHostKey(parseKnownHosts(await readFile(file, 'utf8')), 'PI-KITCHEN.lan', 22, key.blob).kind).toBe(
      'known',
    );
  });

  it('--accept-new adds its line after a last entry that lacks its newline, breaking neither (#17 finding 5)', async () => {
    const directory = await tempTree();
    const first = await hostKey(directory, 'first');
    const second = await hostKey(directory, 'second');
    const file = join(directory, 'known_hosts');
    const existing = `pi-a ${first.publicLine}`; // no final newline, as editors leave it
    await writeFile(file, existing + knownHostsAppendix(existing, knownHostsLine('pi-b', 22, second.blob)));
    const text = await readFile(file, 'utf8');
    expect(verifyHostKey(parseKnownHosts(text), 'pi-a', 22, first.blob).kind).toBe('known');
    expect(verifyHostKey(parseKnownHosts(text), 'pi-b', 22, second.blob).kind).toBe('known');
    // OpenSSH agrees: both hosts are found.
    for (const host of ['pi-a', 'pi-b'])
      expect((await execa('ssh-keygen', ['-F', host, '-f', file], { reject: false })).exitCode).toBe(0);
    expect(knownHostsAppendix('', 'x\n')).toBe('x\n');
    expect(knownHostsAppendix('a\n', 'x\n')).toBe('x\n');
  });

  it('finds plain, [host]:port and hashed entries as ssh-keygen -F does, and tells changed from unknown', async () => {
    const directory = await tempTree();
    const key = await hostKey(directory, 'a');
    const other = await hostKey(directory, 'b');
    const file = join(directory, 'known_hosts');
    await writeFile(
      file,
      [
        `# comment`,
        `pi-zero-1,10.201.1.2 ${key.type} ${key.blob.toString('base64')}`,
        `[10.201.1.3]:2222 ${key.type} ${key.blob.toString('base64')}`,
        `hashed.example ${key.type} ${key.blob.toString('base64')}`,
        '',
      ].join('\n'),
    );
    // ssh-keygen -H hashes the file in place; our reader must still find the host.
    await execa('ssh-keygen', ['-H', '-f', file]);
    const entries = parseKnownHosts(await readFile(file, 'utf8'));
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(verifyHostKey(entries, '10.201.1.2', 22, key.blob).kind).toBe('known');
    expect(verifyHostKey(entries, 'pi-zero-1', 22, key.blob).kind).toBe('known');
    expect(verifyHostKey(entries, '10.201.1.3', 2222, key.blob).kind).toBe('known');
    expect(verifyHostKey(entries, '10.201.1.3', 22, key.blob).kind).toBe('unknown');
    expect(verifyHostKey(entries, 'hashed.example', 22, other.blob).kind).toBe('changed');
    expect(verifyHostKey(entries, 'new.example', 22, other.blob).kind).toBe('unknown');
  });

  it('writes lines ssh-keygen -F finds, hashed by default', async () => {
    const directory = await tempTree();
    const key = await hostKey(directory, 'a');
    const file = join(directory, 'known_hosts');
    await writeFile(
      file,
      knownHostsLine('10.201.1.9', 2200, key.blob) + knownHostsLine('board', 22, key.blob, { hash: false }),
    );
    const found = await execa('ssh-keygen', ['-F', '[10.201.1.9]:2200', '-f', file], { reject: false });
    expect(found.exitCode).toBe(0);
    expect((await execa('ssh-keygen', ['-F', 'board', '-f', file], { reject: false })).exitCode).toBe(0);
    const printed = await execa('ssh-keygen', ['-l', '-f', join(directory, 'a.pub')]);
    expect(printed.stdout).toContain(fingerprint(key.blob));
  });

  it('honours negated patterns, wildcards and @revoked', async () => {
    const directory = await tempTree();
    const key = await hostKey(directory, 'a');
    const b64 = key.blob.toString('base64');
    const entries = parseKnownHosts(
      `*.lab,!bad.lab ${key.type} ${b64}\n@revoked * ${key.type} ${Buffer.from('x').toString('base64')}\n`,
    );
    expect(verifyHostKey(entries, 'pi1.lab', 22, key.blob).kind).toBe('known');
    expect(verifyHostKey(entries, 'bad.lab', 22, key.blob).kind).toBe('unknown');
    const revoked = parseKnownHosts(`@revoked * ${key.type} ${b64}\n*.lab ${key.type} ${b64}\n`);
    expect(verifyHostKey(revoked, 'pi1.lab', 22, key.blob).kind).toBe('revoked');
  });
});
