/**
 * The line a smoke run answers with, as the manifest records it and as an install checks it on
 * a board. Usage messages start with the program's own path (`Usage of /tmp/…/docker-proxy:`),
 * which differs between the build machine and the board: paths ending in the binary's name are
 * written as the bare name on both sides.
 */
export function smokeFirstLine(stdout: string, stderr: string, binary: string): string {
  const line = (stdout.trim() || stderr.trim()).split('\n')[0]?.trim() ?? '';
  return normalizeSmokeLine(line, binary);
}

export function normalizeSmokeLine(line: string, binary: string): string {
  const escaped = binary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The base name alone too: containerd 2.x's shim prints `<argv0 base name>:` for -v, and the
  // build runs it under its cache name (`<key>-containerd-shim-runc-v2`).
  return line.replace(new RegExp(`(?<=^|\\s)(?:\\S*/)?[^/\\s]*${escaped}(?=[:\\s]|$)`, 'g'), binary).trim();
}
