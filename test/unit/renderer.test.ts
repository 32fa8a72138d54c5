import { describe, expect, it, vi } from 'vitest';
import { chooseRenderer, createTaskList, stageRenderer } from '../../src/ui/renderer.js';

describe('chooseRenderer', () => {
  it.each([
    [{ isTTY: true, env: {} }, 'default'],
    [{ isTTY: false, env: {} }, 'simple'],
    [{ isTTY: true, env: { CI: 'true' } }, 'simple'],
    [{ isTTY: true, env: { CI: 'false' } }, 'default'],
    [{ isTTY: true, env: { TERM: 'dumb' } }, 'simple'],
    [{ isTTY: true, verbose: true, env: {} }, 'simple'],
    [{ isTTY: true, json: true, env: {} }, 'silent'],
    [{ isTTY: false, json: true, env: { CI: 'true' } }, 'silent'],
    [{ isTTY: true, quiet: true, env: {} }, 'silent'],
    [{ isTTY: true, env: { VITEST: 'true' } }, 'silent'],
  ] as const)('%o → %s', (context, expected) => {
    expect(chooseRenderer(context)).toBe(expected);
  });
});

describe('createTaskList', () => {
  it('runs tasks concurrently and keeps going past a failure when told to', async () => {
    const order: string[] = [];
    const list = createTaskList<{ done: string[] }>(
      [
        {
          title: 'a',
          task: (ctx) => {
            order.push('a');
            ctx.done.push('a');
          },
        },
        {
          title: 'b',
          task: () => {
            throw new Error('b failed');
          },
        },
        {
          title: 'c',
          task: (ctx) => {
            order.push('c');
            ctx.done.push('c');
          },
        },
      ],
      { concurrent: true, exitOnError: false, context: { done: [] } },
    );
    const context = await list.run();
    expect(context.done.sort()).toEqual(['a', 'c']);
    expect(list.errors.map((error) => error.message)).toEqual(['b failed']);
  });
});

describe('where progress goes', () => {
  it('a library caller that passes no renderer gets silence; the CLI passes one', () => {
    expect(chooseRenderer({ ...stageRenderer(undefined), isTTY: true, env: {} })).toBe('silent');
    expect(chooseRenderer({ ...stageRenderer({ verbose: true }), env: {} })).toBe('simple');
  });

  it('progress lines go to stderr, never to stdout (stdout carries only results)', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await createTaskList([{ title: 'compile the probe', task: () => undefined }], { verbose: true, env: {} }).run();
      const written = (spy: typeof out) => spy.mock.calls.map((call) => String(call[0])).join('');
      expect(written(out)).toBe('');
      expect(written(err)).toContain('compile the probe');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});

describe('progress events for library callers', () => {
  it('reports start, output, end, skip and failure with the titles above each task, and draws nothing', async () => {
    const events: string[] = [];
    const written = vi.spyOn(process.stderr, 'write');
    const out = vi.spyOn(process.stdout, 'write');
    const list = createTaskList(
      [
        {
          title: 'stage',
          task: (_, task) =>
            task.newListr(
              [
                {
                  title: 'one',
                  task: (_ctx, sub) => {
                    sub.output = '50%';
                    sub.title = 'one: done';
                  },
                },
                { title: 'two', skip: () => 'not needed', task: () => undefined },
                {
                  title: 'three',
                  task: () => {
                    throw new Error('broke');
                  },
                },
              ],
              { exitOnError: false },
            ),
        },
      ],
      {
        ...stageRenderer(undefined, (e) => events.push(`${e.kind} ${e.path.join(' > ')}: ${e.text}`)),
        exitOnError: false,
      },
    );
    await list.run().catch(() => undefined);
    expect(written).not.toHaveBeenCalled();
    expect(out).not.toHaveBeenCalled();
    written.mockRestore();
    out.mockRestore();
    expect(events).toEqual([
      'started stage: stage',
      'started stage > one: one',
      'output stage > one: 50%',
      'completed stage > one: one: done',
      'started stage > two: two',
      'skipped stage > two: not needed',
      'started stage > three: three',
      'failed stage > three: broke',
      'completed stage: stage',
    ]);
  });
});
