// Lint rules for the whole workspace. The module-boundary rule is the architecture made executable:
// libs never import apps, cloud and edge code never import each other, libs/shared/protocol imports no lib,
// and test-only libraries (libs/testing, type:test) are reachable from tests and tools, never from production code.
import js from '@eslint/js';
import globals from 'globals';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// What each scope may use in production code. Apps compose libs; kedgeadm runs on both sides (init and token in
// the cloud, join and diagnose on a gateway), so it may use cloud and edge libs, as the two daemons may not.
const scopeRules = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:cloud', onlyDependOnLibsWithTags: ['scope:cloud', 'scope:shared'] },
  { sourceTag: 'scope:edge', onlyDependOnLibsWithTags: ['scope:edge', 'scope:shared'] },
  { sourceTag: 'scope:admin', onlyDependOnLibsWithTags: ['scope:shared', 'scope:cloud', 'scope:edge'] },
  { sourceTag: 'kind:protocol', onlyDependOnLibsWithTags: ['kind:protocol'] },
];

/** The boundary rule with `extraLibTags` also allowed to every project, as a lint rule entry. */
function boundaries(extraLibTags) {
  const withExtra = (tags) => [...tags, ...extraLibTags];
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:lib', onlyDependOnLibsWithTags: withExtra(['type:lib']) },
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: withExtra(['type:lib']) },
        // test libraries serve tests of every scope: they may use any lib and each other
        { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:lib', 'type:test'] },
        { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:shared', 'scope:cloud', 'scope:edge', 'scope:testing'] },
        // tools (e2e tests, benchmarks, packaging, the all-in-one demo) drive whole processes
        { sourceTag: 'type:tools', onlyDependOnLibsWithTags: ['type:lib', 'type:test', 'type:app'] },
        { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:cloud', 'scope:edge', 'scope:admin', 'scope:testing'] },
        ...scopeRules.map((rule) => ({ ...rule, onlyDependOnLibsWithTags: rule.sourceTag === 'kind:protocol' ? rule.onlyDependOnLibsWithTags : withExtra(rule.onlyDependOnLibsWithTags) })),
      ],
    },
  ];
}

/** Test code: test folders, *.test.ts and vitest configs. Only these may import libs/testing. */
const TEST_FILES = ['**/test/**/*.ts', '**/*.test.ts', '**/vitest.config.ts'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'reports/**', '.nx/**'] },
  js.configs.recommended,
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: { parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    rules: {
      '@nx/enforce-module-boundaries': boundaries([]),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': boundaries(['type:test', 'scope:testing']) },
  },
);
