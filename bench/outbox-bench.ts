import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import mysql2 from 'mysql2/promise';
import pg from 'pg';
import { MemoryOutboxStore, MessagingModule, OutboxAdmin, type OutboxStore } from 'nestjs-messaging';
import { AMQP_ADDRESS, AmqpMessenger } from 'nestjs-messaging/amqp';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import { SqliteOutboxStore } from 'nestjs-messaging/sqlite';
import { messages, rawRheaRate, resetQueue, split, URL } from './amqp-bench.js';
import { startServer } from './bench-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1000);
const DRAIN_MESSAGES = Number(process.env.BENCH_DRAIN_MESSAGES ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// The databases test/brokers/setup.sh (run by bench/run.sh) makes sure of.
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/nestjs_messaging_test';
const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/nestjs_messaging_test';
const DRAIN_TABLE = `bench_drain_${String(process.pid)}`;

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Starts the delaying AMQP peer in its own process; resolves with its URL. */
function startBroker(settleDelayMs: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'delaying-broker.js')], {
    env: { ...process.env, SETTLE_DELAY_MS: String(settleDelayMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\S+)/.exec(output);
      if (match) resolve({ child, url: match[1] });
    });
  });
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly refused: number;
  readonly delivered: number;
}

async function latency(settleDelayMs: number, delivery: 'background' | 'await'): Promise<Latency> {
  const broker = await startBroker(settleDelayMs);
  const server = await startServer('express', 'one-message-amqp', {
    BENCH_LATENCY_BROKER_URL: broker.url,
    BENCH_DELIVERY: delivery,
  });
  try {
    const load = (duration: number): Promise<autocannon.Result> =>
      autocannon({
        url: `${server.url}/items`,
        method: 'POST',
        connections: 20,
        overallRate: LATENCY_RATE,
        duration,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench' }),
      });
    await load(1); // warm-up, and the AMQP connection and link up
    const result = await load(SECONDS);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    await new Promise((resolve) => setTimeout(resolve, settleDelayMs + 500));
    const stats = (await (await fetch(`${server.url}/stats`)).json()) as {
      sinceStart: { refused: number; delivered: number };
    };
    return {
      p50: result.latency.p50,
      p99: result.latency.p99,
      refused: stats.sinceStart.refused,
      delivered: stats.sinceStart.delivered,
    };
  } finally {
    server.child.kill('SIGKILL');
    broker.child.kill('SIGKILL');
  }
}

/** p50/p99 of POST /items (Express, one message, AMQP) with a broker that settles at once, and after 200 ms. */
export async function runLatencyBenchmark(): Promise<void> {
  console.log(
    `\nLatency insulation: POST /items on Express, 1 message over AMQP, ${LATENCY_RATE} req/s for ${SECONDS} s, 20 connections`,
  );
  for (const delivery of ['background', 'await'] as const) {
    const instant: Latency[] = [];
    const delayed: Latency[] = [];
    // Interleaved rounds, median of each: one GC pause can move a single p99.
    for (let round = 0; round < ROUNDS; round++) {
      instant.push(await latency(0, delivery));
      delayed.push(await latency(200, delivery));
    }
    const line = (label: string, figures: readonly Latency[]): string =>
      `    ${label.padEnd(24)} p50 ${String(median(figures.map(({ p50 }) => p50))).padStart(4)} ms   ` +
      `p99 ${String(median(figures.map(({ p99 }) => p99))).padStart(4)} ms   ` +
      `delivered ${figures.map(({ delivered }) => delivered).join('/')}, refused ${figures.map(({ refused }) => refused).join('/')}`;
    console.log(`  delivery: '${delivery}' (median of ${ROUNDS})`);
    console.log(line('broker settles at once', instant));
    console.log(line('broker settles in 200 ms', delayed));
    const ratio = median(delayed.map(({ p99 }) => p99)) / Math.max(median(instant.map(({ p99 }) => p99)), 1);
    console.log(`    p99 ratio (200 ms / at once) ${ratio.toFixed(2)}`);
  }
}

@Module({})
class DrainModule {}

/** How fast a dispatcher empties a backlog of stored messages into RabbitMQ. */
async function drainRate(store: OutboxStore): Promise<number> {
  const app = await NestFactory.createApplicationContext(
    {
      module: DrainModule,
      imports: [
        MessagingModule.forRoot({
          messenger: new AmqpMessenger({
            urls: [URL],
            username: 'guest',
            password: 'guest',
            address: AMQP_ADDRESS.rabbitmq3,
          }),
          outbox: store,
        }),
      ],
    },
    { logger: ['error'] },
  );
  const admin = app.get(OutboxAdmin);
  const started = performance.now();
  await app.init();
  for (;;) {
    const { stored } = await admin.stats();
    if (stored.pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  await app.close();
  return DRAIN_MESSAGES / seconds;
}

async function filled<T extends OutboxStore>(store: T): Promise<T> {
  for (const chunk of split(messages(DRAIN_MESSAGES), 1000)) await store.append(chunk);
  return store;
}

/** Drops the drain table (and what its migrations made beside it) from both databases. */
async function dropDrainTables(): Promise<void> {
  const postgres = new pg.Client({ connectionString: POSTGRES_URL });
  await postgres.connect();
  try {
    await postgres.query(`DROP TABLE IF EXISTS ${DRAIN_TABLE}`);
    await postgres.query(`DROP FUNCTION IF EXISTS ${DRAIN_TABLE}_notify(), ${DRAIN_TABLE}_default_key()`);
    await postgres.query('DELETE FROM nestjs_messaging_schema WHERE table_name = $1', [DRAIN_TABLE]).catch(() => 0);
  } finally {
    await postgres.end();
  }
  const mysql = await mysql2.createConnection(MYSQL_URL);
  try {
    await mysql.query(`DROP TABLE IF EXISTS ${DRAIN_TABLE}, ${DRAIN_TABLE}_key_locks`);
    await mysql.query('DELETE FROM nestjs_messaging_schema WHERE table_name = ?', [DRAIN_TABLE]).catch(() => 0);
  } finally {
    await mysql.end();
  }
}

/** Drains a backlog of DRAIN_MESSAGES from each store, against raw rhea. */
export async function runDrainBenchmark(): Promise<void> {
  Logger.overrideLogger(['error']);
  console.log(`\nDrain: ${DRAIN_MESSAGES} stored messages to RabbitMQ (${URL}), durable, awaiting acceptance`);
  const folder = mkdtempSync(join(tmpdir(), 'bench-drain-'));
  try {
    await resetQueue();
    await rawRheaRate(split(messages(500), 50)); // warm-up
    await resetQueue();
    const raw = await rawRheaRate(split(messages(DRAIN_MESSAGES), 50));
    await resetQueue();
    const sqlite = await drainRate(await filled(new SqliteOutboxStore({ path: join(folder, 'drain.db') })));
    await resetQueue();
    const memory = await drainRate(await filled(new MemoryOutboxStore({ maxMessages: DRAIN_MESSAGES })));
    await resetQueue();
    await dropDrainTables();
    const postgres = await drainRate(
      await filled(new PostgresOutboxStore({ connectionString: POSTGRES_URL, table: DRAIN_TABLE, createSchema: true })),
    );
    await resetQueue();
    const mysql = await drainRate(
      await filled(new MysqlOutboxStore({ connectionString: MYSQL_URL, table: DRAIN_TABLE, createSchema: true })),
    );
    await resetQueue();
    console.log(`  raw rhea, batches of 50   ${raw.toFixed(0).padStart(6)} msg/s`);
    console.log(
      `  SQLite outbox drain       ${sqlite.toFixed(0).padStart(6)} msg/s   ratio ${(sqlite / raw).toFixed(2)}`,
    );
    console.log(
      `  memory outbox drain       ${memory.toFixed(0).padStart(6)} msg/s   ratio ${(memory / raw).toFixed(2)}`,
    );
    console.log(
      `  PostgreSQL outbox drain   ${postgres.toFixed(0).padStart(6)} msg/s   ratio ${(postgres / raw).toFixed(2)}`,
    );
    console.log(
      `  MariaDB outbox drain      ${mysql.toFixed(0).padStart(6)} msg/s   ratio ${(mysql / raw).toFixed(2)}`,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await dropDrainTables();
  }
}
