// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // A manifest (or a binary's entry) read from anywhere goes through parseManifest, the one
    // parse that checks every field reaching a board or a path (#25); a cast would skip it.
    files: ['src/**/*.ts'],
    ignores: ['src/artifacts/manifest.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSAsExpression TSTypeReference[typeName.name=/^Manifest(Artifact|Binary)?$/]',
          message: 'parse it with parseManifest (src/artifacts/manifest.ts) instead of casting',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests build throwaway objects and await promises that assert on their own.
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  // Benchmarks are plain ESM scripts over the built dist/, run with node as they are.
  {
    files: ['eslint.config.js', 'bench/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', performance: 'readonly', URL: 'readonly' },
    },
  },
);
