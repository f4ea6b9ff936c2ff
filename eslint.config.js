// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The built-in error constructors src/ must not call (src/errors.ts has the catalogued classes). */
const BUILTIN_ERRORS = '/^(Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)$/';

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
      'no-restricted-imports': ['error', { paths: [{ name: 'pg', message: 'src/ must not import pg at runtime; use the structural types in src/adapters/pg/pg-types.ts.', allowTypeImports: true }] }],
    },
  },
);
