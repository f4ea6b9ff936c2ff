// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** The built-in error constructors src/ must not call (src/errors.ts has the catalogued classes). */
const BUILTIN_ERRORS = '/^(Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)$/';

/** src/ never imports pg at runtime (an optional peer dependency); types only. */
const NO_RUNTIME_PG = {
  name: 'pg',
  message: 'src/ must not import pg at runtime; use the structural types (src/postgres/pg-client-shapes.ts, src/adapters/pg/pg-types.ts) or src/postgres/pg-module-loader.ts.',
  allowTypeImports: true,
};

/**
 * The layers of src/ (docs/reference/architecture.md): what each folder may import besides itself and src/errors.ts.
 * Bottom to top. A folder not listed here (a new one) must be added before it is imported from.
 */
const LAYERS = {
  core: [],
  postgres: [],
  worker: ['core'],
  adapters: ['core', 'postgres'],
  server: ['core', 'postgres'],
  config: ['core', 'postgres'],
  exporters: ['core', 'postgres'],
  cluster: ['core', 'postgres'],
  tenants: ['adapters', 'core', 'postgres'],
  http: ['adapters', 'server', 'config', 'exporters', 'cluster', 'tenants', 'core', 'postgres'],
  testing: ['http', 'adapters', 'server', 'config', 'exporters', 'cluster', 'tenants', 'core', 'postgres'],
  provisioning: ['postgres'],
  cli: ['provisioning', 'http', 'adapters', 'server', 'config', 'exporters', 'cluster', 'tenants', 'core', 'postgres'],
};
/** What the package root (src/index.ts) must not re-export from: the CLI, the test helpers, the provisioning. */
const NOT_FROM_ROOT = ['cli', 'testing', 'provisioning', 'worker'];
/** Deepest folder nesting below a layer folder (src/<layer>/a/b/c.ts is 3). */
const MAX_DEPTH = 3;

/**
 * One `no-restricted-imports` block per layer folder and nesting depth: a relative import that climbs to src/ (as
 * many `../` as the file is deep) must go on into the folder itself, an allowed folder, or errors.js.
 */
function layerRules() {
  const blocks = Object.entries(LAYERS).flatMap(([folder, below]) => {
    const allowed = [folder, ...below].join('|');
    const message = `src/${folder}/ may import only ${[folder, ...below].map((name) => `src/${name}/`).join(', ')} and src/errors.ts (docs/reference/architecture.md).`;
    return Array.from({ length: MAX_DEPTH }, (_, index) => {
      const depth = index + 1;
      return {
        files: [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`],
        rules: {
          'no-restricted-imports': [
            'error',
            { paths: [NO_RUNTIME_PG], patterns: [{ regex: `^(?:\\.\\./){${depth}}(?!(?:${allowed})/|errors\\.js$)`, message }] },
          ],
        },
      };
    });
  });
  blocks.push({
    files: ['src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [NO_RUNTIME_PG],
          patterns: [{ regex: `^\\./(?:${NOT_FROM_ROOT.join('|')})/`, message: 'The package root does not export from src/cli, src/testing, src/provisioning or src/worker (docs/reference/architecture.md).' }],
        },
      ],
    },
  });
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` array and a derived union instead of enum.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/errors.ts'],
    rules: {
      // Every error poolscope creates carries a catalogued code (DESIGN.md, "Errors"). This list replaces the one
      // above for src/, so it repeats the enum rule.
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` array and a derived union instead of enum.' },
        {
          selector: `:matches(NewExpression, CallExpression)[callee.name=${BUILTIN_ERRORS}]`,
          message:
            'No bare built-in errors in src/: use a PoolscopeError subclass from src/errors.ts (add a code to ERROR_CODES and docs/reference/errors.md if none fits).',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [NO_RUNTIME_PG] }],
    },
  },
  // Imports flow one way (docs/reference/architecture.md): each folder of src/ may import only the folders below.
  ...layerRules(),
  // The dashboard page's own modules run in the browser as they are (no build step): browser globals, ES modules.
  {
    files: ['src/dashboard/assets/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
);
