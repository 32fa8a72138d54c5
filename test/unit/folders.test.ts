/**
 * The folders of src/ form a graph without cycles: each folder is a layer that may use the ones
 * below it, never one above (a cycle means two folders are really one, or a module lives in the
 * wrong one). Runtime imports count; `import type` does not, since it leaves no edge at run time.
 * Files at the top of src/ (cli, context, errors, pipeline, index) are nodes of their own.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The folder a file belongs to, or the file itself at the top of src/. */
function node(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? `${parts[0] ?? ''}/` : (parts[0] ?? '');
}

/** Folder → folder edges, each with one import that makes it. */
export function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const runtime = /^(?:import|export)(?!\s+type\b)[^;]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;
    for (const match of text.matchAll(runtime)) {
      const target = resolve(dirname(file), match[1] ?? match[2] ?? '').replace(/\.js$/, '.ts');
      const [from, to] = [node(file), node(target)];
      if (from === to) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      graph.get(from)?.set(to, `${relative(SRC, file)} → ${relative(SRC, target)}`);
    }
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan). Pure. */
export function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w !== undefined) component.push(w);
      } while (w !== undefined && w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the folder graph of src/', () => {
  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a/', new Map([['b/', 'a/x.ts → b/y.ts']])],
      ['b/', new Map([['c/', 'b/y.ts → c/z.ts']])],
      ['c/', new Map([['a/', 'c/z.ts → a/x.ts']])],
    ]);
    expect(cycles(graph)).toEqual([['a/', 'b/', 'c/']]);
  });

  it('has no cycles', () => {
    const graph = folderGraph();
    const explained = cycles(graph).map((component) =>
      component
        .flatMap((from) =>
          [...(graph.get(from)?.entries() ?? [])].filter(([to]) => component.includes(to)).map(([, why]) => why),
        )
        .join('; '),
    );
    expect(explained).toEqual([]);
  });
});

describe('install/ in small functions', () => {
  it('has no top-level function much over 100 lines', () => {
    const long: string[] = [];
    for (const file of sources(join(SRC, 'install'))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      let start = -1;
      let name = '';
      lines.forEach((line, index) => {
        const head = /^(?:export )?(?:async )?function (\w+)/.exec(line);
        if (head) {
          start = index;
          name = head[1] ?? '';
        } else if (line === '}' && start >= 0) {
          if (index - start > 105) long.push(`${relative(SRC, file)}: ${name} (${String(index - start)} lines)`);
          start = -1;
        }
      });
    }
    expect(long).toEqual([]);
  });
});
