import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
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
async function generatedClient(schema: string): Promise<new (options: { adapter: unknown }) => PrismaClientLike> {
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

/** Prisma's interactive transactions, through @prisma/adapter-pg. */
export function prismaPgHarness(products: string, url: string): TransactionHarness {
  let client: Promise<PrismaClientLike> | undefined;
  const prisma = (): Promise<PrismaClientLike> =>
    (client ??= generatedClient('postgres').then(
      (PrismaClient) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 4 }) }),
    ));
  return {
    orm: 'Prisma',
    database: 'PostgreSQL',
    transaction: async (fn) => {
      await (await prisma()).$transaction((tx) => fn(tx));
    },
    // Prisma 7 runs a $transaction inside one as a savepoint.
    savepoint: (tx, fn) => (tx as PrismaClientLike).$transaction((nested) => fn(nested)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as PrismaTxLike).$executeRawUnsafe(`INSERT INTO ${products} (name) VALUES ($1)`, name);
    },
    outside: async () => [{ what: 'the PrismaClient', handle: await prisma(), cause: /a PrismaClient \(its pool\)/ }],
    close: async () => {
      if (client !== undefined) await (await client).$disconnect();
    },
  };
}
