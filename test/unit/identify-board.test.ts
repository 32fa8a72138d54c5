import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type BoardReport,
  identifyBoard,
  parseCpuinfo,
  UnsupportedBoardError,
} from '../../src/platform/identify-board.js';
import { loadTargets } from '../../src/platform/targets.js';

const registry = await loadTargets();
const directory = fileURLToPath(new URL('../fixtures/boards/', import.meta.url));

interface Fixture {
  description: string;
  report: Omit<BoardReport, 'shElfHeader'> & { shElfHeader?: string };
  expect: {
    target?: string;
    board?: string | null;
    qemuCpu?: string;
    alsoRuns?: string[];
    notes?: string[];
    error?: string;
  };
}

const fixtures = readdirSync(directory)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => [file, parse(readFileSync(`${directory}${file}`, 'utf8')) as Fixture] as const);

function toReport(fixture: Fixture): BoardReport {
  const { shElfHeader, ...rest } = fixture.report;
  return { ...rest, shElfHeader: shElfHeader ? Buffer.from(shElfHeader, 'hex') : null };
}

describe('identifyBoard on reports from real boards', () => {
  it('has fixtures for every Raspberry Pi generation and OS width', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
  });

  it.each(fixtures)('%s', (_, fixture) => {
    const report = toReport(fixture);
    if (fixture.expect.error) {
      expect(() => identifyBoard(report, registry)).toThrow(UnsupportedBoardError);
      expect(() => identifyBoard(report, registry)).toThrow(fixture.expect.error);
      return;
    }
    const identity = identifyBoard(report, registry);
    expect(identity.target).toBe(fixture.expect.target);
    expect(identity.board?.id ?? null).toBe(fixture.expect.board);
    expect(identity.qemuCpu).toBe(fixture.expect.qemuCpu);
    expect(identity.alsoRuns).toEqual(fixture.expect.alsoRuns);
    for (const note of fixture.expect.notes ?? []) {
      expect(identity.notes.join('\n')).toContain(note);
    }
  });
});

describe('identifyBoard rules', () => {
  const piZero = fixtures.find(([file]) => file === 'pi-zero-w-raspbian-bullseye.yaml')?.[1];
  const pi4on32 = fixtures.find(([file]) => file === 'pi-4-rpios-32bit-userland-64bit-kernel.yaml')?.[1];
  if (!piZero || !pi4on32) throw new Error('fixtures missing');

  it('never trusts "CPU architecture: 7" alone: the part number finds the ARM1176', () => {
    const cpuinfo = piZero.report.cpuinfo?.replace(/model name.*\n/, '') ?? '';
    expect(parseCpuinfo(cpuinfo).modelName).toBeNull();
    expect(identifyBoard({ ...toReport(piZero), cpuinfo }, registry).target).toBe('armv6');
  });

  it('trusts /bin/sh over getconf when they disagree, and says so', () => {
    const identity = identifyBoard({ ...toReport(pi4on32), longBit: 64 }, registry);
    expect(identity.target).toBe('armv7');
    expect(identity.userland.source).toBe('sh-elf');
    expect(identity.notes.join('\n')).toContain('getconf LONG_BIT says 64 but /bin/sh is a 32-bit arm binary');
  });

  it('falls back to dpkg, then to the kernel, when getconf is missing', () => {
    const base = { ...toReport(pi4on32), shElfHeader: null, longBit: null };
    expect(identifyBoard(base, registry).userland).toMatchObject({ bits: 32, source: 'dpkg' });
    expect(identifyBoard({ ...base, dpkgArchitecture: null }, registry)).toMatchObject({
      target: 'aarch64',
      userland: { bits: 64, source: 'kernel' },
    });
  });

  it('reads a damaged /bin/sh header as missing rather than failing', () => {
    const identity = identifyBoard({ ...toReport(piZero), shElfHeader: Buffer.from('#!/bin/busybox') }, registry);
    expect(identity.target).toBe('armv6');
    expect(identity.userland.source).toBe('getconf');
    expect(identity.notes.join('\n')).toContain('/bin/sh: not an ELF file');
  });

  it('keeps the CPU in charge when the model string and the CPU disagree', () => {
    const identity = identifyBoard(
      { ...toReport(piZero), deviceTreeModel: 'Raspberry Pi 4 Model B Rev 1.4' },
      registry,
    );
    expect(identity.target).toBe('armv6');
    expect(identity.notes.join('\n')).toContain('does not normally run armv6');
  });
});
