/**
 * Progress as events, for library callers: a listr2 renderer that draws nothing and hands each
 * task's start, output, end, skip and failure to a callback, with the titles of the tasks above
 * it. Headless callers get structured progress; only the CLI draws it on a terminal.
 */
import { ListrTaskEventType, ListrTaskState } from 'listr2';

export interface ProgressEvent {
  /** Titles (as each task started) from the stage's top task down to this one. */
  path: string[];
  kind: 'started' | 'output' | 'completed' | 'skipped' | 'failed';
  /**
   * The title when it started or completed (a stage retitles a task with its result), the output
   * line, the skip's reason or the failure's message.
   */
  text: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

/** The slice of listr2's Task this renderer reads. */
interface ObservedTask {
  title?: string;
  hasTitle(): boolean;
  on(event: ListrTaskEventType, listener: (value: never) => void): void;
}

export function eventRendererClass(sink: ProgressSink) {
  return class EventRenderer {
    static nonTTY = true;
    static rendererOptions = {};
    static rendererTaskOptions = {};
    constructor(readonly tasks: ObservedTask[]) {}
    render(): void {
      observe(this.tasks, [], sink);
    }
    end(): void {
      // Every event went out as it happened.
    }
  };
}

function observe(tasks: readonly ObservedTask[], parents: readonly string[], sink: ProgressSink): void {
  for (const task of tasks) {
    // A task is named by its title when it started: stages retitle tasks with their results.
    let name: string | undefined;
    const path = () => [...parents, name ?? task.title ?? ''];
    task.on(ListrTaskEventType.SUBTASK, (subtasks: ObservedTask[]) => {
      observe(subtasks, path(), sink);
    });
    task.on(ListrTaskEventType.STATE, (state: ListrTaskState) => {
      if (!task.hasTitle()) return;
      if (state === ListrTaskState.STARTED) {
        name = task.title ?? '';
        sink({ path: path(), kind: 'started', text: name });
      } else if (state === ListrTaskState.COMPLETED) sink({ path: path(), kind: 'completed', text: task.title ?? '' });
    });
    // Skips and failures carry their reason in a message, not in the state change.
    task.on(ListrTaskEventType.MESSAGE, (message: { skip?: string; error?: string }) => {
      if (message.skip !== undefined) sink({ path: path(), kind: 'skipped', text: message.skip });
      else if (message.error !== undefined) sink({ path: path(), kind: 'failed', text: message.error });
    });
    task.on(ListrTaskEventType.OUTPUT, (output: string) => {
      sink({ path: path(), kind: 'output', text: output });
    });
  }
}
