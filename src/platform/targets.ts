/**
 * Loads targets/*.yaml into a registry, checking each file against the schema and the files
 * against each other (names match files, shared binfmt handlers agree, boards point at targets).
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DocumentError, loadDocument } from '../document/document.js';
import { UserError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import {
  type BoardProfileDefinition,
  type TargetDefinition,
  TargetSchema,
  VOCABULARIES,
  type Vocabulary,
} from './target-schema.js';
import { namesOf } from './vocabulary.js';

export interface BoardProfile extends BoardProfileDefinition {
  /** The target whose file defines the board (the board's native instruction set). */
  nativeTarget: string;
}

export interface Target extends TargetDefinition {
  /** Every spelling of this target, by vocabulary, normalized. */
  names: Record<Vocabulary, string[]>;
  /** Boards that run this target: its own, plus boards of other targets that list it in `also`. */
  runsOn: BoardProfile[];
  /** The file it was read from. */
  file: string;
}

export interface TargetRegistry {
  readonly targets: readonly Target[];
  readonly boards: readonly BoardProfile[];
  get(name: string): Target;
  has(name: string): boolean;
}

/** Default order: 64-bit first, then 32-bit ARM from newest to oldest, experimental last. */
const SUPPORT_ORDER = { stable: 0, experimental: 1 } as const;

export function defaultTargetsDirectory(): string {
  return join(packageRoot(), 'targets');
}

const cache = new Map<string, Promise<TargetRegistry>>();

export function loadTargets(directory = defaultTargetsDirectory()): Promise<TargetRegistry> {
  let registry = cache.get(directory);
  if (!registry) {
    registry = readTargets(directory);
    cache.set(directory, registry);
    registry.catch(() => cache.delete(directory));
  }
  return registry;
}

async function readTargets(directory: string): Promise<TargetRegistry> {
  let entries: string[];
  try {
    entries = (await readdir(directory)).filter((entry) => /\.ya?ml$/.test(entry)).sort();
  } catch (error) {
    throw new UserError(`${directory}: cannot read the targets directory`, { cause: error });
  }
  if (entries.length === 0) throw new UserError(`${directory}: no target definitions (*.yaml)`);
  const definitions: Array<{ file: string; definition: TargetDefinition }> = [];
  for (const entry of entries) {
    const file = join(directory, entry);
    definitions.push({ file, definition: await loadDocument(file, TargetSchema) });
  }
  return buildRegistry(definitions);
}

export function buildRegistry(definitions: Array<{ file: string; definition: TargetDefinition }>): TargetRegistry {
  checkConsistency(definitions);
  const boards: BoardProfile[] = definitions.flatMap(({ definition }) =>
    definition.boards.map((board) => ({ ...board, nativeTarget: definition.name })),
  );
  const targets: Target[] = definitions
    .map(({ file, definition }) => ({
      ...definition,
      file,
      names: Object.fromEntries(
        VOCABULARIES.map((vocabulary) => [vocabulary, namesOf(definition, vocabulary)]),
      ) as Record<Vocabulary, string[]>,
      runsOn: boards.filter((board) => board.nativeTarget === definition.name || board.also.includes(definition.name)),
    }))
    .sort(
      (a, b) =>
        SUPPORT_ORDER[a.support] - SUPPORT_ORDER[b.support] ||
        b.bits - a.bits ||
        b.name.localeCompare(a.name, 'en', { numeric: true }),
    );
  const byName = new Map(targets.map((target) => [target.name, target]));
  return {
    targets,
    boards,
    has: (name) => byName.has(name),
    get(name) {
      const target = byName.get(name);
      if (!target) {
        throw new UserError(`unknown target "${name}"`, {
          hint: `valid targets: ${targets.map((t) => t.name).join(', ')}`,
        });
      }
      return target;
    },
  };
}

function problem(file: string, path: string, message: string, hint?: string): DocumentError {
  return new DocumentError([{ file, line: undefined, column: undefined, path, message, hint }]);
}

function checkConsistency(definitions: Array<{ file: string; definition: TargetDefinition }>) {
  const names = new Set(definitions.map(({ definition }) => definition.name));
  const binfmtByName = new Map<string, { file: string; magic: string; mask: string }>();
  const boardIds = new Set<string>();
  for (const { file, definition } of definitions) {
    const expected = basename(file).replace(/\.ya?ml$/, '');
    if (definition.name !== expected) {
      throw problem(
        file,
        'name',
        `"${definition.name}" does not match the file name`,
        `rename the file to ${definition.name}.yaml or set name: ${expected}`,
      );
    }
    const { binfmt } = definition;
    const shared = binfmtByName.get(binfmt.name);
    if (shared && (shared.magic !== binfmt.magic || shared.mask !== binfmt.mask)) {
      throw problem(
        file,
        'binfmt',
        `binfmt handler ${binfmt.name} differs from the one in ${shared.file}`,
        'targets that share a QEMU handler must give it the same magic and mask',
      );
    }
    binfmtByName.set(binfmt.name, { file, ...binfmt });
    if (definition.elf.machine === 'arm' && !definition.elf.armArchitectures?.length) {
      throw problem(
        file,
        'elf.armArchitectures',
        'a 32-bit ARM target must list the ARM architectures (Tag_CPU_arch) it accepts',
      );
    }
    definition.boards.forEach((board, index) => {
      if (boardIds.has(board.id)) {
        throw problem(file, `boards[${index}].id`, `board id "${board.id}" is defined twice`);
      }
      boardIds.add(board.id);
      for (const pattern of board.models) {
        try {
          new RegExp(pattern);
        } catch {
          throw problem(file, `boards[${index}].models`, `not a valid regular expression: ${pattern}`);
        }
      }
      for (const other of board.also) {
        if (!names.has(other)) {
          throw problem(
            file,
            `boards[${index}].also`,
            `unknown target "${other}"`,
            `valid targets: ${[...names].join(', ')}`,
          );
        }
      }
    });
    if (definition.boards.length > 0 && !definition.boards.some((b) => b.cpu === definition.qemu.cpu)) {
      throw problem(
        file,
        'qemu.cpu',
        `${definition.qemu.cpu} is not the CPU of any of its boards`,
        'smoke runs must use the CPU of the oldest board of the target',
      );
    }
  }
}
