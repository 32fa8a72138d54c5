/**
 * The fleet benchmark as a picture: seconds against boards, one line per tool, as a standalone
 * SVG (no dependency, readable on GitHub and in any browser). Pure: rows in, text out.
 */

export interface ChartSeries {
  name: string;
  color: string;
  points: Array<{ boards: number; seconds: number }>;
}

export function lineChart(input: {
  title: string;
  series: readonly ChartSeries[];
  width?: number;
  height?: number;
}): string {
  const width = input.width ?? 640;
  const height = input.height ?? 400;
  const margin = { left: 64, right: 150, top: 40, bottom: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const points = input.series.flatMap((s) => s.points);
  const maxBoards = Math.max(1, ...points.map((p) => p.boards));
  const maxSeconds = niceCeiling(Math.max(1, ...points.map((p) => p.seconds)));
  const x = (boards: number) => margin.left + (boards / maxBoards) * plotW;
  const y = (seconds: number) => margin.top + plotH - (seconds / maxSeconds) * plotH;
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const ticks = (max: number, count: number) => Array.from({ length: count + 1 }, (_, i) => (max * i) / count);
  const boardTicks = [...new Set(points.map((p) => p.boards))].sort((a, b) => a - b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${String(margin.left)}" y="24" font-size="14" font-weight="bold">${escape(input.title)}</text>`,
  ];
  for (const value of ticks(maxSeconds, 5)) {
    const ty = y(value).toFixed(1);
    parts.push(
      `<line x1="${String(margin.left)}" x2="${String(margin.left + plotW)}" y1="${ty}" y2="${ty}" stroke="#e5e5e5"/>`,
      `<text x="${String(margin.left - 8)}" y="${ty}" text-anchor="end" dominant-baseline="middle">${trim(value)}</text>`,
    );
  }
  for (const boards of boardTicks)
    parts.push(
      `<text x="${x(boards).toFixed(1)}" y="${String(margin.top + plotH + 18)}" text-anchor="middle">${String(boards)}</text>`,
    );
  parts.push(
    `<line x1="${String(margin.left)}" x2="${String(margin.left + plotW)}" y1="${String(margin.top + plotH)}" y2="${String(margin.top + plotH)}" stroke="#333"/>`,
    `<line x1="${String(margin.left)}" x2="${String(margin.left)}" y1="${String(margin.top)}" y2="${String(margin.top + plotH)}" stroke="#333"/>`,
    `<text x="${String(margin.left + plotW / 2)}" y="${String(height - 10)}" text-anchor="middle">boards</text>`,
    `<text transform="translate(16 ${String(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle">seconds</text>`,
  );
  input.series.forEach((series, index) => {
    const sorted = [...series.points].sort((a, b) => a.boards - b.boards);
    const path = sorted
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.boards).toFixed(1)},${y(p.seconds).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    for (const p of sorted)
      parts.push(
        `<circle cx="${x(p.boards).toFixed(1)}" cy="${y(p.seconds).toFixed(1)}" r="3" fill="${series.color}"><title>${escape(series.name)}: ${String(p.boards)} boards, ${p.seconds.toFixed(2)} s</title></circle>`,
      );
    const ly = margin.top + 10 + index * 20;
    parts.push(
      `<line x1="${String(margin.left + plotW + 16)}" x2="${String(margin.left + plotW + 36)}" y1="${String(ly)}" y2="${String(ly)}" stroke="${series.color}" stroke-width="2"/>`,
      `<text x="${String(margin.left + plotW + 42)}" y="${String(ly)}" dominant-baseline="middle">${escape(series.name)}</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** 1, 2 or 5 times a power of ten, at or above `value`. Pure. */
export function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
