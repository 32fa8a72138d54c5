/**
 * Every spelling of a target, by vocabulary, derived from its definition in targets/.
 * Pure: the resolver and `crossdock targets` both read names from here.
 */
import type { TargetDefinition, Vocabulary } from './target-schema.js';

export function ociPlatform(target: TargetDefinition): string {
  const { os, architecture, variant } = target.oci;
  return variant ? `${os}/${architecture}/${variant}` : `${os}/${architecture}`;
}

export function goEnvironment(target: TargetDefinition): Record<string, string> {
  return { GOOS: target.oci.os, ...target.go };
}

/** The canonical `GOARCH=… GOARM=…` spelling of a Go environment. */
export function goName(target: TargetDefinition): string {
  return Object.entries(target.go)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

export function namesOf(target: TargetDefinition, vocabulary: Vocabulary): string[] {
  const own = ownNames(target, vocabulary);
  const aliases = target.aliases[vocabulary] ?? [];
  return [...new Set([...own, ...aliases].map((name) => normalizeName(vocabulary, name)))];
}

function ownNames(target: TargetDefinition, vocabulary: Vocabulary): string[] {
  switch (vocabulary) {
    case 'crossdock':
      return [target.name];
    case 'oci': {
      const { architecture, variant } = target.oci;
      return [ociPlatform(target), variant ? `${architecture}/${variant}` : architecture];
    }
    case 'uname':
      return target.uname;
    case 'debian':
      return [target.debian];
    case 'raspbian':
      return target.raspbian ? [target.raspbian] : [];
    case 'alpine':
      return target.alpine ? [target.alpine] : [];
    case 'go':
      return [goName(target)];
    case 'gnu':
      return [target.gnu.triple];
    case 'docker-static':
      return target.dockerStatic ? [target.dockerStatic] : [];
    case 'qemu':
      return [target.qemu.name];
  }
}

/**
 * Brings a name into the form `namesOf` uses, so lookups ignore case and, for Go, the order of
 * variables, `GOOS=linux`, separators and the `,hardfloat` suffix of Go 1.22's GOARM.
 */
export function normalizeName(vocabulary: Vocabulary, raw: string): string {
  const name = raw.trim();
  if (vocabulary !== 'go') return name.toLowerCase();
  const tokens = name.split(/[\s,;]+/).filter(Boolean);
  if (tokens.length > 0 && tokens.every((token) => !token.includes('='))) {
    // A bare GOARCH value such as `arm64`.
    return `GOARCH=${tokens.join('').toLowerCase()}`;
  }
  const env = new Map<string, string>();
  for (const token of tokens) {
    const [key = '', value = ''] = token.split('=', 2);
    const upper = key.toUpperCase();
    if (upper === 'GOARCH' || upper === 'GOARM') env.set(upper, value.toLowerCase());
    // GOARM=7,hardfloat: the suffix is Go's default for 6 and 7 and changes nothing here.
    else if (key.toLowerCase() === 'hardfloat' && env.has('GOARM')) continue;
  }
  return ['GOARCH', 'GOARM']
    .filter((key) => env.has(key))
    .map((key) => `${key}=${env.get(key)}`)
    .join(' ');
}

/** Does this string look like Go environment variables rather than a plain name? */
export function looksLikeGoEnvironment(raw: string): boolean {
  return /\bGOARCH\s*=|\bGOARM\s*=/i.test(raw);
}
