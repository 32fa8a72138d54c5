import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../src/commands/config.js';
import { loadTargets } from '../../src/platform/targets.js';

const schemas = jsonSchemas(await loadTargets());

describe('committed JSON Schemas', () => {
  it.each(Object.entries(schemas))('%s matches the valibot schema (regenerate with npm run schema)', (path, schema) => {
    const committed = JSON.parse(readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(schema)));
  });

  it('describes the keys for editors', () => {
    const schema = schemas['crossdock.schema.json'] as {
      properties: Record<
        string,
        {
          description?: string;
          properties?: Record<string, { description?: string; default?: unknown }>;
        }
      >;
    };
    expect(schema.properties.targets?.description).toContain('crossdock targets');
    expect(schema.properties.build?.properties?.outDir).toMatchObject({ default: 'dist' });
    expect(schema.properties.install?.properties?.hostKeys?.description).toContain('accept-new');
  });

  it('refuses in the editor what the CLI refuses: an unknown target, an unknown inventory key', async () => {
    const { default: Ajv } = await import('ajv');
    const ajv = new Ajv({ strict: false });
    const config = ajv.compile(schemas['crossdock.schema.json'] as object);
    expect(config({ targets: ['armv6', 'linux/arm/v7'] })).toBe(true);
    expect(config({ targets: ['sparc'] })).toBe(false);
    const inventory = ajv.compile(schemas['inventory.schema.json'] as object);
    expect(inventory({ hosts: { 'pi-1': { address: '10.0.0.5', user: 'pi' } } })).toBe(true);
    expect(inventory({ hosts: { 'pi-1': { adress: '10.0.0.5' } } })).toBe(false);
  });
});
