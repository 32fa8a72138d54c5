/** SHA-256 of files and the SHA256SUMS format `sha256sum -c` reads. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `<hash>  <name>` lines (two spaces: text mode), sorted by name. */
export function formatSha256Sums(entries: ReadonlyArray<{ name: string; sha256: string }>): string {
  return [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((entry) => `${entry.sha256}  ${entry.name}\n`)
    .join('');
}

export function parseSha256Sums(text: string): Array<{ name: string; sha256: string }> {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
      if (!match?.[1] || !match[2]) throw new Error(`not a SHA256SUMS line: ${line}`);
      return { sha256: match[1], name: match[2] };
    });
}
