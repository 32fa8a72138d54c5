/**
 * Renderer policy, in one place: a person at a terminal gets listr2's live renderer; CI, pipes
 * and --verbose get the line-per-event simple renderer; --json and tests get silence (the JSON
 * report is the output); a library caller gets silence, or events if it asks for them.
 */
import { Listr, ListrLogger, type ListrTask, ProcessOutput } from 'listr2';
import { eventRendererClass, type ProgressSink } from './progress-events.js';

export type RendererChoice = 'default' | 'simple' | 'silent';

export interface RendererContext {
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
  isTTY?: boolean | undefined;
  env?: Record<string, string | undefined>;
  /** A library caller's progress callback: events instead of drawing (see progress-events.ts). */
  onProgress?: ProgressSink | undefined;
}

export function chooseRenderer(context: RendererContext = {}): RendererChoice {
  const env = context.env ?? process.env;
  if (context.json || context.quiet || env.VITEST || env.NODE_ENV === 'test') return 'silent';
  // isTTY is undefined, not false, on a pipe, whatever the typings say.
  const isTTY = context.isTTY ?? (process.stderr.isTTY as boolean | undefined) === true;
  const ci = Boolean(env.CI && env.CI !== 'false') || env.TERM === 'dumb';
  if (context.verbose || ci || !isTTY) return 'simple';
  return 'default';
}

/**
 * What a stage renders with. The CLI passes a renderer context; a library caller that passes none
 * gets silence (the stage's report is its result), never terminal output it did not ask for.
 */
export function stageRenderer(renderer: RendererContext | undefined, onProgress?: ProgressSink): RendererContext {
  if (onProgress) return { onProgress };
  return renderer ?? { quiet: true };
}

export function createTaskList<Context extends object>(
  tasks: ListrTask<Context>[],
  options: RendererContext & {
    concurrent?: boolean | number;
    exitOnError?: boolean;
    context?: Context;
  } = {},
): Listr<Context> {
  if (options.onProgress)
    return new Listr<Context>(tasks, {
      concurrent: options.concurrent ?? false,
      exitOnError: options.exitOnError ?? true,
      ...(options.context ? { ctx: options.context } : {}),
      renderer: eventRendererClass(options.onProgress) as never,
      fallbackRendererCondition: () => false,
      collectErrors: 'minimal',
      // Ctrl-C is the CLI's (bin.ts): listr2's own handler would exit before any finally ran.
      registerSignalListeners: false,
    });
  const renderer = chooseRenderer(options);
  // Progress goes to stderr, both streams of it: listr2 writes to stdout by default, which put
  // spinner lines into `crossdock toolchain verify > file`. stdout carries only results.
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  return new Listr<Context>(tasks, {
    concurrent: options.concurrent ?? false,
    exitOnError: options.exitOnError ?? true,
    ...(options.context ? { ctx: options.context } : {}),
    // listr2 types the renderer statically; this policy picks it at run time, and listr2's own
    // fallback (taken when stdout is not a terminal) must not overrule it.
    renderer: renderer as 'default',
    fallbackRenderer: 'simple',
    fallbackRendererCondition: () => false,
    rendererOptions: renderer === 'default' ? { collapseSubtasks: false, logger } : { logger },
    fallbackRendererOptions: { logger },
    collectErrors: 'minimal',
    registerSignalListeners: false,
  });
}
