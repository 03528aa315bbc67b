import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import type { TransactionHarness } from './transaction-harnesses.js';

/** The part of a generated PrismaClient the spec uses. */
interface PrismaClientLike {
  $transaction<T>(fn: (tx: PrismaTxLike) => Promise<T>): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $disconnect(): Promise<void>;
}
type PrismaTxLike = Omit<PrismaClientLike, '$disconnect'>;

const swallow = (): undefined => undefined;

const root = join(import.meta.dirname, '../..');

/**
 * Generates the client of test/support/prisma/<schema>.prisma into .prisma-test/ and loads it. Prisma 7's
 * `generate` reads the schema with its WebAssembly engine; it only checks that a schema engine binary is
 * there, which PRISMA_SCHEMA_ENGINE_BINARY satisfies without a download (any existing file: generate never runs it).
 */
async function generatedClient(
  schema: 'postgres' | 'mysql',
): Promise<new (options: { adapter: unknown }) => PrismaClientLike> {
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  execFileSync(process.execPath, [cli, 'generate', '--schema', join(root, `test/support/prisma/${schema}.prisma`)], {
    cwd: root,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: 'pipe',
  });
  const module = (await import(join(root, `.prisma-test/${schema}/client.ts`))) as {
    PrismaClient: new (options: { adapter: unknown }) => PrismaClientLike;
  };
  return module.PrismaClient;
}

/** Prisma's interactive transactions, through a driver adapter; a $transaction inside one is a savepoint (Prisma 7). */
function prismaHarness(
  database: TransactionHarness['database'],
  schema: 'postgres' | 'mysql',
  adapter: () => unknown,
  insert: string,
): TransactionHarness {
  let client: Promise<PrismaClientLike> | undefined;
  const prisma = (): Promise<PrismaClientLike> =>
    (client ??= generatedClient(schema).then((PrismaClient) => new PrismaClient({ adapter: adapter() })));
  return {
    orm: 'Prisma',
    database,
    transaction: async (fn) => {
      await (await prisma()).$transaction((tx) => fn(tx));
    },
    savepoint: (tx, fn) => (tx as PrismaClientLike).$transaction((nested) => fn(nested)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as PrismaTxLike).$executeRawUnsafe(insert, name);
    },
    outside: async () => [{ what: 'the PrismaClient', handle: await prisma(), cause: /a PrismaClient \(its pool\)/ }],
    close: async () => {
      if (client !== undefined) await (await client).$disconnect();
    },
  };
}

/** Prisma on PostgreSQL through @prisma/adapter-pg. */
export const prismaPgHarness = (products: string, url: string): TransactionHarness =>
  prismaHarness(
    'PostgreSQL',
    'postgres',
    () => new PrismaPg({ connectionString: url, max: 4 }),
    `INSERT INTO ${products} (name) VALUES ($1)`,
  );

/** Prisma on MariaDB through @prisma/adapter-mariadb (the mariadb driver). */
export const prismaMariaDbHarness = (products: string, url: string): TransactionHarness =>
  prismaHarness(
    'MariaDB',
    'mysql',
    () => new PrismaMariaDb(url.replace(/^mysql:/, 'mariadb:')),
    `INSERT INTO ${products} (name) VALUES (?)`,
  );
