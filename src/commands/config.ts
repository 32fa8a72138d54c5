import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toJsonSchema } from '@valibot/to-json-schema';
import type { GenericSchema } from 'valibot';
import type { ConfigOverrides } from '../config/load.js';
import { resolveContext } from '../context.js';
import { ConfigSchema } from '../config/schema.js';
import { packageRoot } from '../package-root.js';
import { TargetSchema } from '../platform/target-schema.js';
import { loadTargets, type TargetRegistry } from '../platform/targets.js';
import { InventorySchema } from '../remote/inventory.js';
import { ToolchainSchema } from '../platform/toolchains.js';
import { printJson } from '../ui/output.js';

export async function configCommand(options: {
  config?: string;
  json?: boolean;
  overrides: ConfigOverrides;
}): Promise<number> {
  const context = await resolveContext({ configFile: options.config, flags: options.overrides });
  const report = { file: context.configFile, config: context.config };
  if (options.json) printJson(report);
  else {
    process.stdout.write(`# ${context.configFile ?? 'no config file: defaults and flags only'}\n`);
    process.stdout.write(`${JSON.stringify(context.config, null, 2)}\n`);
  }
  return 0;
}

/**
 * The JSON Schemas committed for editors, generated from the valibot schemas. crossdock.yaml's
 * `targets` lists the names `crossdock targets` knows, so an editor flags `targets: [sparc]` as
 * the CLI does.
 */
export function jsonSchemas(registry: TargetRegistry): Record<string, object> {
  const generate = (schema: GenericSchema, title: string) => ({
    title,
    ...toJsonSchema(schema, { errorMode: 'ignore', target: 'draft-07' }),
  });
  const config = generate(ConfigSchema, 'crossdock.yaml') as unknown as { properties: { targets: { items: object } } };
  const names = new Set<string>();
  for (const target of registry.targets) {
    names.add(target.name);
    for (const list of Object.values(target.names)) for (const name of list) names.add(name);
  }
  config.properties.targets.items = { type: 'string', enum: [...names].sort() };
  return {
    'crossdock.schema.json': config,
    'inventory.schema.json': generate(InventorySchema, 'crossdock inventory (inventory.yaml)'),
    'targets/schema.json': generate(TargetSchema, 'crossdock target definition (targets/*.yaml)'),
    'toolchains/schema.json': generate(ToolchainSchema, 'crossdock toolchain definition (toolchains/*.yaml)'),
  };
}

export async function schemaCommand(options: { write?: boolean }): Promise<number> {
  const schemas = jsonSchemas(await loadTargets());
  if (!options.write) {
    printJson(schemas['crossdock.schema.json']);
    return 0;
  }
  for (const [path, schema] of Object.entries(schemas)) {
    await writeFile(join(packageRoot(), path), `${JSON.stringify(schema, null, 2)}\n`);
    process.stderr.write(`wrote ${path}\n`);
  }
  return 0;
}
