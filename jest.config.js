/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // iso-3166 and jose are ESM-only: let ts-jest turn their .js into CommonJS too.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, isolatedModules: true, target: 'ES2022', strict: true, skipLibCheck: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(iso-3166|jose)/)'],
  testTimeout: 30000,
};
