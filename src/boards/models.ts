/** Emulated board models (targets/boards/models.yaml), checked against the target registry. */
import { join } from 'node:path';
import * as v from 'valibot';
import { loadDocument } from '../document/document.js';
import { UserError } from '../errors.js';
import { closest } from '../document/document.js';
import { defaultTargetsDirectory, type Target, type TargetRegistry } from '../platform/targets.js';

const ModelSchema = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]*$/, 'ids are lower-case letters, digits, - and _')),
  board: v.nullable(v.string()),
  target: v.string(),
  cpu: v.nullable(v.string()),
  kernelMachine: v.optional(v.string()),
  deviceTreeModel: v.nullable(v.string()),
  cpuinfo: v.nullable(v.string()),
  // A full-system board (its own kernel and systemd) instead of a chroot under user emulation.
  vm: v.optional(
    v.strictObject({
      /** The qemu-system binary, its Debian package, the machine type and the serial console. */
      binary: v.string(),
      package: v.string(),
      console: v.string(),
      machine: v.string(),
      cpus: v.pipe(v.number(), v.integer(), v.minValue(1)),
      memoryMiB: v.pipe(v.number(), v.integer(), v.minValue(256)),
      diskGiB: v.pipe(v.number(), v.integer(), v.minValue(2)),
    }),
  ),
});

const ModelsSchema = v.strictObject({ models: v.array(ModelSchema) });

export interface BoardModel extends v.InferOutput<typeof ModelSchema> {
  targetDefinition: Target;
}

export async function loadBoardModels(
  registry: TargetRegistry,
  file = join(defaultTargetsDirectory(), 'boards', 'models.yaml'),
): Promise<BoardModel[]> {
  const { models } = await loadDocument(file, ModelsSchema);
  return models.map((model) => {
    const target = registry.targets.find((t) => t.name === model.target);
    if (!target) throw new UserError(`${file}: model ${model.id} names target ${model.target}, which targets/ lacks`);
    // A Pi 4 on a 32-bit OS is the rpi-4 profile (listed under aarch64) playing armv7.
    if (model.board && !registry.targets.some((t) => t.boards.some((b) => b.id === model.board)))
      throw new UserError(`${file}: model ${model.id} names board ${model.board}, which no target lists`);
    return { ...model, targetDefinition: target };
  });
}

export function findModel(models: readonly BoardModel[], id: string): BoardModel {
  const found = models.find((m) => m.id === id);
  if (found) return found;
  const suggestion = closest(
    id,
    models.map((m) => m.id),
  );
  throw new UserError(`--model ${id}: no such board model`, {
    hint: `${suggestion ? `did you mean ${suggestion}? ` : ''}models: ${models.map((m) => m.id).join(', ')}`,
  });
}
