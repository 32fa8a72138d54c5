import { printable } from '../errors.js';
/** Plain-text and JSON output. Reports go to stdout; progress and errors go to stderr. */

export function printJson(value: unknown): void {
  // JSON escapes C0 controls but not DEL and C1 (U+0080–U+009F, CSI among them): escaped here,
  // so a board's string never reaches a terminal as a control sequence, and the JSON is the same.
  const text = JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  process.stdout.write(`${text}\n`);
}

/** Left-aligned columns; the last column is not padded. */
export function formatTable(input: ReadonlyArray<readonly string[]>): string {
  // Cells hold what boards report (their OS name, their errors): printable first.
  const rows = input.map((row) => row.map(printable));
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      row
        .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
