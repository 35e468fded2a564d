/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // The tests compile with the build's own settings (tsconfig.json); tsconfig.test.json adds
    // only allowJs, so ts-jest also turns the ESM-only packages below into CommonJS.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
  },
  // iso-3166 and jose ship ESM only.
  transformIgnorePatterns: ['/node_modules/(?!(iso-3166|jose)/)'],
  // Every spy is restored before the next test, so one that fails midway cannot leak its mock.
  restoreMocks: true,
  testTimeout: 30000,
};
