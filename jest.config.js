/** Jest in native ESM (NestJS 12 packages are ESM-only); see README "Tests". */
module.exports = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', useESM: true }] },
  testRegex: '(src|test)/.*\\.(spec|e2e-spec|int-spec)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/reliability/'],
  // content-disposition 3 (of @fastify/static) is ESM only, which Jest cannot require on Node 20.
  moduleNameMapper: { '^content-disposition$': '<rootDir>/test/setup/content-disposition.cjs' },
  // Also the bound of each beforeAll: an app on a new embedded database runs every migration on
  // PGlite first (several seconds on a loaded 2-core CI machine, two suites at a time).
  testTimeout: 60000,
  maxWorkers: 2,
};
