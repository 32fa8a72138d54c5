import { describe, expect, it } from 'vitest';
import { lineChart, niceCeiling } from '../../bench/chart.js';

describe('the fleet chart (bench/chart.ts)', () => {
  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0.7, 1, 3, 7, 42, 120, 999].map(niceCeiling)).toEqual([1, 1, 5, 10, 50, 200, 1000]);
  });

  it('draws one line per tool, higher seconds higher up, and names each in the legend', () => {
    const svg = lineChart({
      title: 'A < B',
      series: [
        {
          name: 'crossdock',
          color: '#00f',
          points: [
            { boards: 1, seconds: 2 },
            { boards: 100, seconds: 10 },
          ],
        },
        {
          name: 'Ansible',
          color: '#f00',
          points: [
            { boards: 1, seconds: 5 },
            { boards: 100, seconds: 80 },
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('A &lt; B');
    const paths = [...svg.matchAll(/<path d="M([\d.]+),([\d.]+) L([\d.]+),([\d.]+)"/g)].map((m) =>
      m.slice(1).map(Number),
    );
    expect(paths).toHaveLength(2);
    const [fast, slow] = paths as [number[], number[]];
    // SVG's y grows downwards: 80 s sits above 10 s, and both lines end at the same x.
    expect(slow[3]).toBeLessThan(fast[3] ?? 0);
    expect(slow[2]).toBe(fast[2]);
    expect(svg).toContain('>crossdock</text>');
    expect(svg).toContain('>Ansible</text>');
  });
});
