/** Fills {version}, {revision}, … in recipe strings. Pure. */
export interface BuildValues {
  version: string;
  revision: string;
  revisionShort: string;
  sourceDateEpoch: number;
  target: string;
}

export function fillPlaceholders(text: string, values: BuildValues): string {
  const table: Record<string, string> = {
    version: values.version,
    revision: values.revision,
    revisionShort: values.revisionShort,
    sourceDateEpoch: String(values.sourceDateEpoch),
    // RFC 3339 from SOURCE_DATE_EPOCH, never the clock, so builds stay reproducible.
    buildTime: new Date(values.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z'),
    target: values.target,
  };
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => table[key] ?? whole);
}
