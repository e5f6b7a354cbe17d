// eslint for the lab extension's TypeScript (src/ and ui-tests/tests/): `npm run lint`, zero warnings.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['lib/', 'node_modules/', 'ui-tests/node_modules/', 'ui-tests/test-results/', 'ui-tests/playwright-report/',
      'python_bridge/', '.venv/', 'src/generated/', '*.js', '*.mjs', 'ui-tests/*.js', 'style/']
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}', 'ui-tests/tests/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'react-hooks/exhaustive-deps': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-assertions': ['error', { assertionStyle: 'as' }],
      '@typescript-eslint/naming-convention': [
        'error',
        { selector: 'interface', format: ['PascalCase'], custom: { regex: '^I[A-Z]', match: true } }
      ],
      eqeqeq: ['error', 'smart'],
      curly: ['error', 'all'],
      'prefer-const': 'error',
      'no-console': ['error', { allow: ['error', 'warn', 'log'] }]
    }
  },
  {
    // tests: jest and playwright doubles may be loosely typed
    files: ['src/**/__tests__/**/*.{ts,tsx}', 'ui-tests/tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off'
    }
  }
);
