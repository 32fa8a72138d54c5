/** Dispatches a source spec to its fetcher. */
import { fetchDirectory, fetchGit, parseSourceSpec, type SourceCheckout, type SourceContext } from './sources.js';

export type { SourceCheckout };

export async function fetchSource(
  spec: string,
  where: string,
  context: SourceContext & { baseDirectory: string },
): Promise<SourceCheckout> {
  const parsed = parseSourceSpec(spec, where, context.baseDirectory);
  if (parsed.kind === 'git') return fetchGit(parsed, spec, context);
  if (parsed.kind === 'directory') return fetchDirectory(parsed, spec, context);
  const { fetchDebianSource } = await import('./debian-source.js');
  return fetchDebianSource(parsed, spec, context);
}
