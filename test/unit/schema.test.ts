import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../src/commands/config.js';

describe('committed JSON Schemas', () => {
  it.each(Object.entries(jsonSchemas()))(
    '%s matches the valibot schema (regenerate with npm run schema)',
    (path, schema) => {
      const committed = JSON.parse(readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8'));
      expect(committed).toEqual(JSON.parse(JSON.stringify(schema)));
    },
  );

  it('describes the keys for editors', () => {
    const schema = jsonSchemas()['crossdock.schema.json'] as {
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
});
