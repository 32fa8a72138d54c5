/**
 * Reads a YAML or JSON file into a value checked by a valibot schema, keeping source positions so
 * that every error names `file:line:column`, the key path, what is wrong and how to fix it.
 * The target, toolchain, config and (later) inventory loaders all go through here.
 */
import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { type Document, isMap, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import { UserError } from '../errors.js';

export interface DocumentProblem {
  file: string;
  line: number | undefined;
  column: number | undefined;
  /** Dotted key path, e.g. `install.waves.maxFail` or `targets[2]`; empty for the whole file. */
  path: string;
  message: string;
  hint: string | undefined;
}

export class DocumentError extends UserError {
  readonly problems: DocumentProblem[];

  constructor(problems: DocumentProblem[]) {
    const [first] = problems;
    if (!first) throw new TypeError('DocumentError needs at least one problem');
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super(`${formatProblem(first)}${more}`, { hint: first.hint });
    this.problems = problems;
  }
}

export function formatProblem(problem: DocumentProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column}`;
  return `${where}${problem.path ? ` ${problem.path}` : ''}: ${problem.message}`;
}

export interface ParsedDocument {
  file: string;
  data: unknown;
  document: Document.Parsed;
  lineCounter: LineCounter;
}

/** Parses YAML (and therefore JSON, a subset of YAML 1.2) with positions. */
export function parseSource(text: string, file: string): ParsedDocument {
  const lineCounter = new LineCounter();
  if (file.endsWith('.json')) checkStrictJson(text, file);
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [error] = document.errors;
  if (error) {
    const position = lineCounter.linePos(error.pos[0]);
    const message = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+.*$/, '');
    throw new DocumentError([
      {
        file,
        line: position.line,
        column: position.col,
        path: '',
        message: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}`,
        hint: 'fix the syntax at that position (indentation, a missing colon or quote)',
      },
    ]);
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml stops an alias that expands without end (a "billion laughs" document) with a
    // ReferenceError: bad input, not a bug.
    if (!(error instanceof ReferenceError)) throw error;
    throw new DocumentError([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: 'its aliases (*name) expand to more than 100 copies: refused as a resource exhaustion attack',
        hint: 'write the repeated values out, or use fewer aliases',
      },
    ]);
  }
  return { file, data, document, lineCounter };
}

/** Keys a JavaScript object cannot hold as data: a schema's records would drop them silently. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first mapping key of the document that is a reserved name, with its path. */
function reservedKey(value: unknown, path: PathKey[] = []): PathKey[] | null {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = reservedKey(item, [...path, index]);
      if (found) return found;
    }
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  for (const key of Object.getOwnPropertyNames(value)) {
    if (RESERVED_KEYS.has(key)) return [...path, key];
    const found = reservedKey((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return null;
}

/**
 * YAML reads JSON with trailing commas and comments; a .json file must be real JSON, since other
 * tools read it too. Node's JSON.parse does not always say where it failed, so find the spot.
 */
function checkStrictJson(text: string, file: string): void {
  try {
    JSON.parse(text);
  } catch (error) {
    const offset = jsonErrorOffset(text);
    const lines = text.slice(0, offset).split('\n');
    const reason = (error as Error).message
      .split('\n')[0]
      ?.replace(/, \.\.\.".*$/, '')
      .replace(/ in JSON at position \d+.*$/, '');
    throw new DocumentError([
      {
        file,
        line: lines.length,
        column: (lines.at(-1)?.length ?? 0) + 1,
        path: '',
        message: `not valid JSON: ${reason}`,
        hint: 'fix the syntax at that position (a trailing comma, a missing quote or bracket)',
      },
    ]);
  }
}

/** The offset of the first JSON syntax error, by a small recursive-descent scan. */
export function jsonErrorOffset(text: string): number {
  let at = 0;
  const fail = (): never => {
    throw new JsonSyntaxError(at);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, at)) at += word.length;
    else fail();
  };
  const string = () => {
    at++;
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\') at++;
      else if (text.charCodeAt(at) < 0x20) fail();
      at++;
    }
    if (text[at] !== '"') fail();
    at++;
  };
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at));
    if (!match) fail();
    at += match?.[0].length ?? 0;
  };
  const objectMember = () => {
    space();
    if (text[at] !== '"') fail();
    string();
    space();
    if (text[at] !== ':') fail();
    at++;
    value();
  };
  const value = (): void => {
    space();
    const char = text.charAt(at);
    const literals: Record<string, string> = { t: 'true', f: 'false', n: 'null' };
    if (char === '{') members('}', objectMember);
    else if (char === '[') members(']', value);
    else if (char === '"') string();
    else if (literals[char]) literal(literals[char]);
    else number();
  };
  const members = (close: string, item: () => void) => {
    at++;
    space();
    if (text[at] === close) {
      at++;
      return;
    }
    for (;;) {
      item();
      space();
      if (text[at] === ',') {
        at++;
        space();
        if (text[at] === close) fail();
        continue;
      }
      if (text[at] === close) {
        at++;
        return;
      }
      fail();
    }
  };
  try {
    value();
    space();
    return Math.min(at, text.length);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error.offset;
    throw error;
  }
}

class JsonSyntaxError extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}

export async function readSource(file: string): Promise<ParsedDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`, {
      hint: 'check the path',
      cause: error,
    });
  }
  return parseSource(text, file);
}

type AnySchema = v.GenericSchema;

/** Validates a parsed document against a schema; all problems are reported, first one first. */
export function validateDocument<TSchema extends AnySchema>(
  parsed: ParsedDocument,
  schema: TSchema,
): v.InferOutput<TSchema> {
  const reserved = reservedKey(parsed.data);
  if (reserved) {
    const offset = keyOffset(parsed.document, reserved);
    const position = offset === undefined ? undefined : parsed.lineCounter.linePos(offset);
    throw new DocumentError([
      {
        file: parsed.file,
        line: position?.line,
        column: position?.col,
        path: formatPath(reserved),
        message: `"${String(reserved.at(-1))}" is a reserved name (it would be dropped silently)`,
        hint: 'rename it, e.g. a host "constructor" to "constructor-1"',
      },
    ]);
  }
  const result = v.safeParse(schema, parsed.data);
  if (result.success) return result.output;
  throw new DocumentError(result.issues.map((issue) => issueToProblem(issue, parsed, schema)));
}

export async function loadDocument<TSchema extends AnySchema>(
  file: string,
  schema: TSchema,
): Promise<v.InferOutput<TSchema>> {
  return validateDocument(await readSource(file), schema);
}

type PathKey = string | number;

function issueToProblem(issue: v.BaseIssue<unknown>, parsed: ParsedDocument, schema: AnySchema): DocumentProblem {
  const segments = issue.path ?? [];
  const keys: PathKey[] = segments.map((segment) => segment.key as PathKey);
  const last = segments.at(-1);
  const isUnknownKey = issue.type === 'strict_object' && last?.origin === 'key';
  const offset = isUnknownKey ? keyOffset(parsed.document, keys) : valueOffset(parsed.document, keys);
  const position = offset === undefined ? undefined : parsed.lineCounter.linePos(offset);
  const path = formatPath(keys);

  let message: string;
  let hint: string | undefined;
  if (isUnknownKey) {
    const unknown = String(keys.at(-1));
    const allowed = allowedKeys(schema, keys.slice(0, -1));
    const suggestion = closest(unknown, allowed);
    message = `unknown key "${unknown}"`;
    hint = suggestion
      ? `did you mean "${suggestion}"? valid keys here: ${allowed.join(', ')}`
      : `remove it; valid keys here: ${allowed.join(', ')}`;
  } else if (issue.kind === 'schema' && issue.received === 'undefined') {
    message = `missing required key (expected ${describeExpected(issue.expected)})`;
    hint = `add "${String(keys.at(-1))}"`;
  } else if (issue.kind === 'schema') {
    message = `expected ${describeExpected(issue.expected)}, got ${issue.received}`;
    hint = `change the value to ${describeExpected(issue.expected)}`;
  } else {
    // Validation actions (regex, minLength, custom checks) carry a message written for people.
    message = issue.message;
    hint = undefined;
  }
  return { file: parsed.file, line: position?.line, column: position?.col, path, message, hint };
}

function describeExpected(expected: string | null): string {
  if (!expected) return 'a valid value';
  if (expected === 'Object') return 'a mapping';
  if (expected === 'Array') return 'a list';
  return expected.replace(/^\((.*)\)$/, '$1');
}

export function formatPath(keys: readonly PathKey[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${key}` : key;
  }
  return out;
}

function valueOffset(document: Document.Parsed, keys: PathKey[]): number | undefined {
  for (let length = keys.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(keys.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return range[0];
  }
  return undefined;
}

function keyOffset(document: Document.Parsed, keys: PathKey[]): number | undefined {
  const parentKeys = keys.slice(0, -1);
  const parent = parentKeys.length === 0 ? document.contents : document.getIn(parentKeys, true);
  if (isMap(parent)) {
    for (const item of parent.items) {
      if (isPair(item) && isScalar(item.key) && item.key.value === keys.at(-1)) {
        return item.key.range?.[0];
      }
    }
  }
  return valueOffset(document, parentKeys);
}

/** The keys a (strict) object schema accepts at a path, for "did you mean" hints. */
export function allowedKeys(schema: AnySchema, keys: readonly PathKey[]): string[] {
  let current: unknown = schema;
  for (const key of keys) {
    current = unwrap(current);
    const node = current as { entries?: Record<string, unknown>; item?: unknown; value?: unknown };
    if (typeof key === 'number' && node.item) current = node.item;
    else if (node.entries && typeof key === 'string') current = node.entries[key];
    else if (node.value) current = node.value;
    else return [];
  }
  const entries = (unwrap(current) as { entries?: Record<string, unknown> }).entries;
  return entries ? Object.keys(entries) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (isWrapper(current)) current = current.wrapped;
  return current;
}

/** optional(), nullable() and friends keep the schema they wrap in `wrapped`. */
function isWrapper(schema: unknown): schema is { wrapped: unknown } {
  return typeof schema === 'object' && schema !== null && 'wrapped' in schema && schema.wrapped !== undefined;
}

/** The allowed word nearest to a misspelt one, if it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // An abbreviation (`repo` for `repository`) is as telling as a typo.
  const extensions = candidates.filter((c) => word.length >= 3 && c.toLowerCase().startsWith(word.toLowerCase()));
  if (extensions.length === 1) return extensions[0];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
