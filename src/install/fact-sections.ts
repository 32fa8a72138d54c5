/**
 * The one format every board fact comes in: sections that start with a marked line
 * (`@@crossdock:NAME`, printed by facts.sh's `section NAME`), each holding what follows until the
 * next. One parser reads them all: the probe, the layout state, the smoke runs, the container and
 * TLS checks.
 */

/** What starts a section: the fact's name follows on the same line. */
export const FACT_MARK = '@@crossdock:';

/** Each section's text, trimmed, by name. Pure. */
export function splitSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  let current: string | null = null;
  let lines: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith(FACT_MARK)) {
      if (current) sections.set(current, lines.join('\n').trim());
      current = line.slice(FACT_MARK.length).trim();
      lines = [];
    } else if (current) lines.push(line);
  }
  if (current) sections.set(current, lines.join('\n').trim());
  return sections;
}
