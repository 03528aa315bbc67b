import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import pg from 'pg';
import { messages, rawRheaRate, resetQueue, ROUTING_KEY, split, URL } from './amqp-bench.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DRAIN_MESSAGES = Number(process.env.BENCH_DRAIN_MESSAGES ?? 30_000);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/nestjs_messaging_test';
const APP = join(import.meta.dirname, '../test/fixtures/transactional-app/main.js');
const PRODUCTS = 'bench_products';
const OUTBOX = 'bench_outbox';

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The transactional test app in its own process; resolves with its URL. */
function startApp(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [APP], {
    env: {
      ...process.env,
      PORT: '0',
      NO_COLOR: '1',
      DATABASE_URL,
      PRODUCTS_TABLE: PRODUCTS,
      MESSAGE_OUTBOX: 'postgres',
      MESSAGE_OUTBOX_URL: DATABASE_URL,
      MESSAGE_OUTBOX_TABLE: OUTBOX,
      MESSAGE_BUS_BACKEND: 'amqp',
      MESSAGE_BUS_URLS: URL,
      MESSAGE_BUS_ADDRESS: '/topic/{topic}',
      MESSAGE_BUS_USERNAME: 'guest',
      MESSAGE_BUS_PASSWORD: 'guest',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => {
      reject(new Error(`transactional app exited with ${String(code)}:\n${output}`));
    });
  });
}

type Variant = 'none' | 'skip' | 'logging' | 'logging-row-key' | 'amqp';

const VARIANTS: readonly { mode: Variant; label: string }[] = [
  { mode: 'none', label: 'row only, no MessagingModule' },
  { mode: 'skip', label: 'row only, MessagingModule loaded' },
  { mode: 'logging', label: 'row + message, logging messenger' },
  // The default key is the topic, and every request here has one topic: its writers take turns from
  // insert to commit (per-key commit order). Keyed by product, they commit side by side.
  { mode: 'logging-row-key', label: 'the same, ordering key per product' },
  { mode: 'amqp', label: 'row + message, AMQP to RabbitMQ' },
];

async function requestRate(orm: string, mode: Variant): Promise<number> {
  const app = await startApp({
    TX_ORM: orm,
    ...(mode === 'none' || mode === 'skip' ? { TX_MESSAGES: mode } : {}),
    ...(mode === 'logging' || mode === 'logging-row-key' ? { MESSAGE_BUS_BACKEND: 'logging' } : {}),
    ...(mode === 'logging-row-key' ? { TX_KEY: 'row' } : {}),
  });
  try {
    const load = (duration: number): Promise<autocannon.Result> =>
      autocannon({
        url: `${app.url}/products`,
        method: 'POST',
        connections: 20,
        duration,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench', topic: ROUTING_KEY }),
      });
    await load(1); // warm-up: JIT, pools, the AMQP link
    const result = await load(SECONDS);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    return result.requests.average;
  } finally {
    app.child.kill('SIGKILL');
  }
}

/** Time for `instances` app processes to empty an outbox holding DRAIN_MESSAGES on `topics` topics, all committed at once. */
async function drainRate(admin: pg.Pool, instances: number, topics: number): Promise<number> {
  await admin.query(`TRUNCATE ${OUTBOX}`);
  await resetQueue();
  const apps = await Promise.all(Array.from({ length: instances }, () => startApp({ TX_ORM: 'knex' })));
  try {
    const store = new PostgresOutboxStore({ pool: admin, table: OUTBOX, listen: false });
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      for (const chunk of split(messages(DRAIN_MESSAGES, topics), 2000)) {
        const { text, values } = store.appendStatement(chunk);
        await client.query(text, [...values]);
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // The commit's NOTIFY wakes every instance: the clock starts now.
    const started = performance.now();
    for (;;) {
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${OUTBOX}`);
      if (rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return DRAIN_MESSAGES / ((performance.now() - started) / 1000);
  } finally {
    for (const { child } of apps) child.kill('SIGKILL');
  }
}

/** Transactional messaging on PostgreSQL: request rate with and without a message, and the multi-instance drain. */
export async function runTransactionalBenchmark(): Promise<void> {
  const admin = new pg.Pool({ connectionString: DATABASE_URL });
  try {
    await admin.query(`CREATE TABLE IF NOT EXISTS ${PRODUCTS} (id serial PRIMARY KEY, name text NOT NULL)`);
    console.log(
      `\nTransactional messaging: POST /products inserts a row (and adds one message) in one PostgreSQL transaction, ` +
        `20 connections, ${SECONDS} s, ${ROUNDS} round(s), median`,
    );
    for (const orm of (process.env.BENCH_ORMS ?? 'typeorm,knex,drizzle').split(',').map((name) => name.trim())) {
      const samples = new Map<Variant, number[]>(VARIANTS.map(({ mode }) => [mode, []]));
      // Interleaved rounds: machine drift hits every variant alike.
      for (let round = 0; round < ROUNDS; round++) {
        for (const { mode } of VARIANTS) samples.get(mode)?.push(await requestRate(orm, mode));
      }
      const base = median(samples.get('none') ?? []);
      for (const { mode, label } of VARIANTS) {
        const rate = median(samples.get(mode) ?? []);
        console.log(
          `  ${orm.padEnd(8)} ${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} req/s   ratio ${(rate / base).toFixed(2)}`,
        );
      }
    }
    await admin.query(`TRUNCATE ${PRODUCTS}`);

    console.log(
      `\nMulti-instance drain: ${DRAIN_MESSAGES} messages committed at once to a PostgreSQL outbox, to RabbitMQ`,
    );
    await resetQueue();
    const raw = await rawRheaRate(split(messages(DRAIN_MESSAGES), 50));
    console.log(`  raw rhea, one connection, batches of 50  ${raw.toFixed(0).padStart(6)} msg/s`);
    // One topic is the worst case: its order allows one dispatcher at a time, so instances take turns.
    for (const topics of [1, 10]) {
      for (const instances of [1, 3]) {
        const rate = await drainRate(admin, instances, topics);
        const label = `${String(instances)} instance(s), ${String(topics)} topic(s)`;
        console.log(`  ${label.padEnd(40)} ${rate.toFixed(0).padStart(6)} msg/s   ratio ${(rate / raw).toFixed(2)}`);
      }
    }
    await resetQueue();
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${PRODUCTS}, ${OUTBOX}`);
    await admin.query(`DROP FUNCTION IF EXISTS ${OUTBOX}_notify()`);
    await admin.end();
  }
}
