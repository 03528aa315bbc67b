/** Jest runs the TypeScript sources as ES modules (NestJS 12 is ESM-only). */
export default {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/sample-app/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^nestjs-messaging$': '<rootDir>/lib/index.ts',
    '^nestjs-messaging/amqp$': '<rootDir>/lib/messengers/amqp/index.ts',
    '^nestjs-messaging/fedmsg$': '<rootDir>/lib/messengers/fedmsg/index.ts',
    '^nestjs-messaging/fedora-messaging$': '<rootDir>/lib/messengers/fedora-messaging/index.ts',
    '^nestjs-messaging/sqlite$': '<rootDir>/lib/stores/sqlite/index.ts',
    '^nestjs-messaging/postgres$': '<rootDir>/lib/stores/postgres/index.ts',
    '^nestjs-messaging/mysql$': '<rootDir>/lib/stores/mysql/index.ts',
    '^nestjs-messaging/transactional$': '<rootDir>/lib/transactional/index.ts',
    '^nestjs-messaging/graphql$': '<rootDir>/lib/graphql/index.ts',
    '^nestjs-messaging/terminus$': '<rootDir>/lib/terminus/index.ts',
    '^nestjs-messaging/opentelemetry$': '<rootDir>/lib/opentelemetry/index.ts',
    '^nestjs-messaging/testing$': '<rootDir>/lib/testing/index.ts',
    '^nestjs-messaging/node-support$': '<rootDir>/lib/kernel/node-support.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Mercurius's @fastify/static require()s content-disposition 3, which is ESM only: Jest's require()
    // of ES modules needs Node.js 24.9+, so on 22 the tests get 2 (CommonJS, the same create() API).
    '^content-disposition$': '<rootDir>/node_modules/content-disposition/dist/index.js',
  },
  transform: {
    // Type checking is tsc's job (npm run typecheck); ts-jest only transpiles.
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 30000,
};
