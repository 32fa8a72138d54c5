/** Facts about the machine crossdock runs on: its target and its distribution. */
import { readFileSync } from 'node:fs';
import { machine } from 'node:os';
import { resolveTarget } from './resolve.js';
import type { Target, TargetRegistry } from './targets.js';

export function hostTarget(registry: TargetRegistry, unameMachine = machine()): Target {
  return resolveTarget(registry, unameMachine, { vocabulary: 'uname' });
}

export type DistributionFamily = 'debian' | 'ubuntu';

export interface Distribution {
  family: DistributionFamily | null;
  id: string | null;
  codename: string | null;
  prettyName: string | null;
}

export function parseOsRelease(text: string): Distribution {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) fields.set(match[1], (match[2] ?? '').replace(/^["']|["']$/g, ''));
  }
  const id = fields.get('ID') ?? null;
  const like = (fields.get('ID_LIKE') ?? '').split(/\s+/);
  // Ubuntu derivatives say ID_LIKE="ubuntu debian"; Raspbian says ID_LIKE=debian.
  const family: DistributionFamily | null =
    id === 'ubuntu' || like.includes('ubuntu')
      ? 'ubuntu'
      : id === 'debian' || like.includes('debian')
        ? 'debian'
        : null;
  return {
    family,
    id,
    codename: fields.get('VERSION_CODENAME') ?? fields.get('UBUNTU_CODENAME') ?? null,
    prettyName: fields.get('PRETTY_NAME') ?? null,
  };
}

export function hostDistribution(osReleasePath = '/etc/os-release'): Distribution {
  try {
    return parseOsRelease(readFileSync(osReleasePath, 'utf8'));
  } catch {
    return { family: null, id: null, codename: null, prettyName: null };
  }
}
