/**
 * Container health: an engine that answers `docker version` may still be unable to run a
 * container (no overlay support, a broken runc, cgroups missing) or to network one (no iptables
 * rules, no bridge, docker-proxy missing). So after an install the board runs the build's own
 * health-check image, loaded from a file (no registry, so air-gapped fleets work too):
 *   1. `docker run --rm --network none` — the runtime runs a container of the board's target;
 *   2. a server container with a port published on the default bridge's gateway address, and a
 *      client container on the default bridge that connects to the host's address there — a
 *      container reaches the host, and the host's published port reaches a container;
 *   3. a client in the host's network namespace connecting to the same published port.
 * Everything it starts is removed whatever happens (a trap on exit).
 */
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../exec/runner.js';
import type { SshRunner } from '../remote/ssh-runner.js';

export interface ProbeImageOnBoard {
  /** The image file on the board. */
  file: string;
  tag: string;
  id: string;
}

export interface ContainerHealth {
  ok: boolean;
  /** What the container said about itself: "crossdock-probe ok <uname -m>". */
  run: string | null;
  bridge: string | null;
  published: string | null;
  problem: string | null;
}

const PORT_IN_CONTAINER = 8080;

export function containerHealthScript(image: ProbeImageOnBoard, docker: string, token: string): string {
  const name = `crossdock-health-${token}`;
  const d = shellQuote(docker);
  return [
    'set -u',
    `tag=${shellQuote(image.tag)}; id=${shellQuote(image.id)}; name=${shellQuote(name)}; err=$(mktemp)`,
    `trap '${docker.replace(/'/g, '')} rm -f "$name" >/dev/null 2>&1; rm -f "$err"' EXIT`,
    'fail() { printf "problem=%s\\n" "$*"; exit 1; }',
    'last() { tail -n 1 "$err"; }',
    `if [ "$(${d} image inspect --format '{{.Id}}' "$tag" 2>/dev/null)" != "$id" ]; then`,
    `  ${d} load -i ${shellQuote(image.file)} >/dev/null 2>"$err" || fail "docker load: $(last)"`,
    'fi',
    // stderr apart: docker run warns there when the image's variant differs from the board's.
    `out=$(timeout 180 ${d} run --rm --network none "$tag" 2>"$err") || fail "docker run: $(last)"`,
    'case "$out" in "crossdock-probe ok "*) ;; *) fail "docker run printed: $out";; esac',
    'printf "run=%s\\n" "$out"',
    `gw=$(${d} network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>"$err") || fail "no default bridge: $(last)"`,
    // dockerd 20.10 leaves the default bridge's gateway out of its IPAM config: ask the bridge itself.
    `[ -n "$gw" ] || { br=$(${d} network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}'); gw=$(ip -4 -o addr show dev "\${br:-docker0}" 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }'); }`,
    '[ -n "$gw" ] || fail "the default bridge has no gateway address"',
    `${d} run -d --rm --name "$name" -p "$gw::${PORT_IN_CONTAINER}" "$tag" serve ${PORT_IN_CONTAINER} ${shellQuote(token)} >/dev/null 2>"$err" || fail "docker run -p: $(last)"`,
    `port=$(${d} port "$name" ${PORT_IN_CONTAINER}/tcp 2>"$err" | head -n 1 | sed 's/.*://')`,
    '[ -n "$port" ] || fail "the published port has no host port: $(last)"',
    `out=$(timeout 120 ${d} run --rm "$tag" connect "$gw" "$port" 2>"$err") || fail "a container on the default bridge does not reach the host at $gw:$port: $(last)"`,
    `[ "$out" = "crossdock-probe ${token}" ] || fail "bridge: $gw:$port answered $out"`,
    'printf "bridge=%s\\n" "$out"',
    `out=$(timeout 120 ${d} run --rm --network host "$tag" connect "$gw" "$port" 2>"$err") || fail "the host does not reach the published port $gw:$port: $(last)"`,
    `[ "$out" = "crossdock-probe ${token}" ] || fail "published port: $gw:$port answered $out"`,
    'printf "published=%s\\n" "$out"',
  ].join('\n');
}

/** Parses the script's key=value lines. */
export function parseContainerHealth(output: string, exitCode: number): ContainerHealth {
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(output)?.[1]?.trim() ?? null;
  const problem = value('problem');
  const result = { run: value('run'), bridge: value('bridge'), published: value('published') };
  const ok = exitCode === 0 && problem === null && result.run !== null && result.published !== null;
  return {
    ok,
    ...result,
    problem: ok ? null : (problem ?? `the container check exited ${exitCode} without saying why`),
  };
}

export async function containerHealth(
  runner: SshRunner,
  image: ProbeImageOnBoard,
  docker: string,
): Promise<ContainerHealth> {
  const token = randomBytes(6).toString('hex');
  const result = await runner.run('sh', ['-c', containerHealthScript(image, docker, token)], {
    privileged: true,
    allowFailure: true,
    timeoutMs: 15 * 60_000,
  });
  return parseContainerHealth(result.stdout, result.exitCode);
}
