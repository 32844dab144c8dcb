// One jest config for the whole monorepo: SWC transforms TS and the ESM-only
// dependencies (NestJS 12, zod 4) to CommonJS, see docs/ARCHITECTURE.md.
const { jestModuleNameMapper, swcOptions } = require('./scripts/ts-register.cjs');
const swcrc = swcOptions();

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test', '<rootDir>/demo'],
  testMatch: ['**/*.spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  transformIgnorePatterns: [],
  moduleNameMapper: jestModuleNameMapper(),
  globalSetup: '<rootDir>/libs/database/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/libs/database/src/testing/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  // Fails a file whose responses broke their service's OpenAPI document (test-env.ts turns the check on).
  setupFilesAfterEnv: ['<rootDir>/libs/database/src/testing/openapi-contract.setup.ts'],
  testTimeout: 30000,
  maxWorkers: 2,
};
