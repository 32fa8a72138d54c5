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
import { splitSections } from './fact-sections.js';
import { boardScript } from './board-scripts.js';
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

/** The check as sent (scripts/container-health.sh). Pure. */
export function containerHealthScript(image: ProbeImageOnBoard, docker: string, token: string): string {
  return boardScript('container-health', {
    DOCKER: docker,
    TAG: image.tag,
    ID: image.id,
    IMAGE_FILE: image.file,
    TOKEN: token,
    CONTAINER_PORT: PORT_IN_CONTAINER,
  });
}

/** What the check printed: its run, bridge and published facts, or its problem. Pure. */
export function parseContainerHealth(output: string, exitCode: number): ContainerHealth {
  const facts = splitSections(output);
  const value = (key: string) => facts.get(key) ?? null;
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
