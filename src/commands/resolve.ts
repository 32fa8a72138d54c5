import { UserError } from '../errors.js';
import { findTargets, resolveTarget } from '../platform/resolve.js';
import { VOCABULARIES, type Vocabulary } from '../platform/target-schema.js';
import { loadTargets } from '../platform/targets.js';
import { printJson } from '../ui/output.js';
import { summarizeTarget } from './targets.js';

export async function resolveCommand(
  name: string,
  options: { vocabulary?: string | undefined; json?: boolean },
): Promise<number> {
  const registry = await loadTargets();
  const { vocabulary } = options;
  if (vocabulary !== undefined && !(VOCABULARIES as readonly string[]).includes(vocabulary)) {
    throw new UserError(`--vocabulary ${vocabulary}: unknown vocabulary`, {
      hint: `use one of ${VOCABULARIES.join(', ')}`,
    });
  }
  const target = resolveTarget(registry, name, {
    vocabulary: vocabulary as Vocabulary | undefined,
  });
  const matchedIn = findTargets(registry, name, {
    vocabulary: vocabulary as Vocabulary | undefined,
  })
    .filter((match) => match.target === target)
    .map((match) => match.vocabulary);
  if (options.json)
    printJson({
      input: name,
      target: target.name,
      vocabularies: matchedIn,
      details: summarizeTarget(target),
    });
  else process.stdout.write(`${target.name}\t(${matchedIn.join(', ')})\n`);
  return 0;
}
