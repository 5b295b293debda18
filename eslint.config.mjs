// ESLint flat config. The module-boundary rule keeps the architecture visible:
// apps depend on libs, the domain depends on nothing with I/O, and libs never import apps.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default [
  {
    ignores: [
      '**/dist',
      '**/node_modules',
      '**/tmp',
      'libs/proto/src/generated/**',
      'libs/proto/src/es/**',
      'libs/client/src/gen/**',
      '.nx/**',
    ],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:util', 'type:proto'],
            },
            {
              sourceTag: 'type:data-access',
              onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:util', 'type:proto'],
            },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:proto'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
            {
              sourceTag: 'type:test-support',
              onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:util', 'type:proto'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Specs (and the Console's browser suite) may also use the test-support library; production code may not.
    files: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/*.e2e-spec.ts',
      '**/test/**/*.ts',
      'apps/console/browser/**/*.ts',
    ],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:domain',
                'type:data-access',
                'type:util',
                'type:proto',
                'type:test-support',
              ],
            },
            {
              sourceTag: 'type:data-access',
              onlyDependOnLibsWithTags: [
                'type:domain',
                'type:data-access',
                'type:util',
                'type:proto',
                'type:test-support',
              ],
            },
            {
              sourceTag: 'type:util',
              onlyDependOnLibsWithTags: ['type:util', 'type:proto', 'type:test-support'],
            },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
            {
              sourceTag: 'type:test-support',
              onlyDependOnLibsWithTags: [
                'type:domain',
                'type:data-access',
                'type:util',
                'type:proto',
                'type:test-support',
              ],
            },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['libs/domain/**/*.ts'],
    rules: {
      // The domain does no I/O and knows no framework.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@nestjs/*',
            'typeorm',
            'pg',
            'ioredis',
            'redlock',
            '@grpc/*',
            '@google-cloud/*',
            'fs',
            'node:fs',
            'net',
            'node:net',
          ],
        },
      ],
    },
  },
  prettier,
];
