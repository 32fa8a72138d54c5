/**
 * Name resolution: any platform name a user or a tool hands us → one target, or an error that
 * says what the name could mean and which names are valid.
 *
 * Some names mean different targets in different vocabularies (armhf is ARMv7 to Debian,
 * containerd and Docker's downloads, but ARMv6+VFP to Raspbian and Alpine). Such a name is
 * only accepted when the caller says which vocabulary it speaks, either through
 * `options.vocabulary` or with a prefix: `debian:armhf`, `raspbian:armhf`.
 */

import { closest } from '../document/document.js';
import { UserError } from '../errors.js';
import { VOCABULARIES, type Vocabulary } from './target-schema.js';
import type { Target, TargetRegistry } from './targets.js';
import { looksLikeGoEnvironment, normalizeName } from './vocabulary.js';

export interface TargetMatch {
  target: Target;
  vocabulary: Vocabulary;
}

export interface ResolveOptions {
  /** The vocabulary the name comes from; without it every vocabulary is searched. */
  vocabulary?: Vocabulary | undefined;
}

export class AmbiguousTargetNameError extends UserError {
  readonly matches: TargetMatch[];
  constructor(message: string, hint: string, matches: TargetMatch[]) {
    super(message, { hint });
    this.matches = matches;
  }
}

export class UnknownTargetNameError extends UserError {}

const SUGGESTION_ORDER: readonly Vocabulary[] = [
  'debian',
  'raspbian',
  'alpine',
  'oci',
  'uname',
  'go',
  'gnu',
  'docker-static',
  'qemu',
  'crossdock',
];

const VOCABULARY_PREFIX = new RegExp(`^(${VOCABULARIES.join('|')}):(.+)$`, 'i');

/** Splits `debian:armhf` into its vocabulary and name. */
export function splitVocabularyPrefix(input: string): { vocabulary?: Vocabulary; name: string } {
  const match = VOCABULARY_PREFIX.exec(input.trim());
  if (!match?.[1] || !match[2]) return { name: input.trim() };
  return { vocabulary: match[1].toLowerCase() as Vocabulary, name: match[2] };
}

/** Every (target, vocabulary) pair the name means, in registry order. */
export function findTargets(registry: TargetRegistry, input: string, options: ResolveOptions = {}): TargetMatch[] {
  const { vocabulary, name } = splitWithOption(input, options);
  const vocabularies = vocabulary ? [vocabulary] : VOCABULARIES;
  const matches: TargetMatch[] = [];
  for (const candidate of vocabularies) {
    // Only the go vocabulary understands `GOARCH=…` and only it may read a bare word as GOARCH,
    // which it does only when asked to: `arm` alone is not a Go name otherwise.
    if (candidate === 'go' && !vocabulary && !looksLikeGoEnvironment(name)) continue;
    const normalized = normalizeName(candidate, name);
    for (const target of registry.targets) {
      if (target.names[candidate].includes(normalized)) matches.push({ target, vocabulary: candidate });
    }
  }
  return matches;
}

export function resolveTarget(registry: TargetRegistry, input: string, options: ResolveOptions = {}): Target {
  const { vocabulary, name } = splitWithOption(input, options);
  if (!name) {
    throw new UnknownTargetNameError('empty platform name', {
      hint: `valid targets: ${registry.targets.map((t) => t.name).join(', ')}`,
    });
  }
  const matches = findTargets(registry, name, { vocabulary });
  const targets = [...new Set(matches.map((match) => match.target))];
  const [only] = targets;
  if (only && targets.length === 1) return only;
  if (targets.length > 1) throw ambiguous(name, vocabulary, matches);
  throw unknown(registry, name, vocabulary);
}

function splitWithOption(input: string, options: ResolveOptions) {
  const split = splitVocabularyPrefix(input);
  if (split.vocabulary && options.vocabulary && split.vocabulary !== options.vocabulary) {
    throw new UserError(`"${input}" names the ${split.vocabulary} vocabulary but ${options.vocabulary} was asked for`, {
      hint: `drop the "${split.vocabulary}:" prefix or the vocabulary option`,
    });
  }
  return { vocabulary: split.vocabulary ?? options.vocabulary, name: split.name };
}

function ambiguous(name: string, vocabulary: Vocabulary | undefined, matches: TargetMatch[]): AmbiguousTargetNameError {
  const byTarget = new Map<string, Vocabulary[]>();
  for (const match of matches) {
    byTarget.set(match.target.name, [...(byTarget.get(match.target.name) ?? []), match.vocabulary]);
  }
  const meanings = [...byTarget].map(([target, vocabularies]) => `${target} in ${vocabularies.join(', ')}`).join('; ');
  const targets = [...byTarget.keys()];
  if (vocabulary) {
    return new AmbiguousTargetNameError(
      `"${name}" means more than one target in the ${vocabulary} vocabulary (${targets.join(', ')})`,
      `name the target instead: ${targets.join(' or ')}`,
      matches,
    );
  }
  // One vocabulary per target that means only that target, to suggest as a prefix; distribution
  // names first, since that is where these clashes come from.
  const prefixes = [...byTarget].flatMap(([target, vocabularies]) => {
    const unique = [...vocabularies]
      .sort((a, b) => SUGGESTION_ORDER.indexOf(a) - SUGGESTION_ORDER.indexOf(b))
      .find((candidate) => !matches.some((m) => m.vocabulary === candidate && m.target.name !== target));
    return unique ? [`${unique}:${name} (${target})`] : [];
  });
  return new AmbiguousTargetNameError(
    `"${name}" is ambiguous: it means ${meanings}`,
    `say which vocabulary you mean${prefixes.length ? `, e.g. ${prefixes.join(' or ')}` : ''}, or use a target name: ${targets.join(', ')}`,
    matches,
  );
}

function unknown(registry: TargetRegistry, name: string, vocabulary: Vocabulary | undefined): UnknownTargetNameError {
  const targetList = registry.targets.map((t) => t.name).join(', ');
  if (vocabulary) {
    // The name may be right in another vocabulary, e.g. armv7l handed to an OCI parser, which
    // containerd rejects: say where it belongs and what the OCI spelling is.
    const elsewhere = findTargets(registry, name);
    const [first] = elsewhere;
    if (first && new Set(elsewhere.map((m) => m.target)).size === 1) {
      const spelled = first.target.names[vocabulary][0];
      return new UnknownTargetNameError(
        `"${name}" is not a ${vocabulary} name; it is the ${first.vocabulary} name of ${first.target.name}`,
        {
          hint: spelled ? `in ${vocabulary} terms say ${spelled}` : `${first.target.name} has no ${vocabulary} name`,
        },
      );
    }
    const known = registry.targets.flatMap((t) => t.names[vocabulary]);
    const suggestion = closest(normalizeName(vocabulary, name), known);
    return new UnknownTargetNameError(`unknown ${vocabulary} platform name "${name}"`, {
      hint: `${suggestion ? `did you mean ${suggestion}? ` : ''}valid ${vocabulary} names: ${known.join(', ') || '(none)'}`,
    });
  }
  const allNames = registry.targets.flatMap((t) => VOCABULARIES.flatMap((v) => t.names[v]));
  const suggestion = closest(name.toLowerCase(), [...new Set(allNames)]);
  return new UnknownTargetNameError(`unknown platform name "${name}"`, {
    hint: `${suggestion ? `did you mean ${suggestion}? ` : ''}valid targets: ${targetList}; \`crossdock targets\` lists every other name they go by`,
  });
}
