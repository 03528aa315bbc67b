import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createMessage } from '../lib/kernel/message.factory.js';
import { PostgresOutboxStore } from '../lib/stores/postgres/postgres-outbox.store.js';
import { brokers } from './support/brokers.js';
import { waitFor } from './support/wait-for.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';

const FIXTURE = join(import.meta.dirname, '../dist/test/fixtures/lease-owner/main.js');
const { postgres } = brokers();
const HOUR = 3_600_000;
let tables = 0;

/** A dispatcher process (test/fixtures/lease-owner), and what it sent. */
interface Owner {
  readonly child: ChildProcess;
  output(): string;
  sent(): string[];
}

function startOwner(table: string, env: Record<string, string>): Promise<Owner> {
  if (!existsSync(FIXTURE)) throw new Error(`${FIXTURE} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, NO_COLOR: '1', DATABASE_URL: postgres.url, OUTBOX_TABLE: table, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const owner: Owner = {
    child,
    output: () => output,
    sent: () => [...output.matchAll(/^SENT (\d+)$/gm)].map((match) => match[1]),
  };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('READY\n')) resolve(owner);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      reject(new Error(`lease owner exited with ${String(code)}:\n${output}`));
    });
  });
}

describe('lease takeover between dispatcher processes on one PostgreSQL outbox', () => {
  const admin = new pg.Pool({ connectionString: postgres.url });
  const owners: Owner[] = [];
  let table: string;
  let writer: PostgresOutboxStore;
  const start = async (env: Record<string, string>): Promise<Owner> => {
    const owner = await startOwner(table, env);
    owners.push(owner);
    return owner;
  };
  const leasedBy = async (pid: number | undefined): Promise<number> =>
    (
      await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE lease_owner LIKE $1`, [
        `%-${String(pid)}-%`,
      ])
    ).rows[0].n;
  /** Polls the table until `pid` holds a lease (or 5 s passed); resolves to whether it does. */
  const holdsLeases = async (pid: number | undefined): Promise<boolean> => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await leasedBy(pid)) > 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  };

  beforeEach(async () => {
    table = `lease_takeover_${String(process.pid)}_${String(++tables)}`;
    writer = new PostgresOutboxStore({ connectionString: postgres.url, table, createSchema: true, listen: false });
    await writer.onModuleInit();
  });
  afterEach(async () => {
    for (const { child } of owners.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    await writer.close();
    await dropPostgresOutbox(table);
  });
  afterAll(() => admin.end());

  it("leaves a live, slow owner's leases alone, even with its own clock an hour ahead", async () => {
    const first = await start({ SEND_MS: '800' });
    await writer.append(Array.from({ length: 20 }, (_, n) => createMessage('.orders', { n })));
    expect(await holdsLeases(first.child.pid)).toBe(true);
    const second = await start({ SEND_MS: '0', CLOCK_AHEAD_MS: String(HOUR) });
    await waitFor(() => first.sent().length === 20, 20_000, 'the first owner to send all 20');
    expect(second.sent()).toEqual([]);
    expect(second.output()).not.toContain('Took over');
    expect(first.sent()).toEqual(Array.from({ length: 20 }, (_, n) => String(n)));
  }, 40_000);

  it('takes over at once, at start-up, the leases of an owner that was killed (-9), well before they expire', async () => {
    const killed = await start({ SEND_MS: '60000' });
    await writer.append(Array.from({ length: 12 }, (_, n) => createMessage('.orders', { n })));
    expect(await holdsLeases(killed.child.pid)).toBe(true);
    const exited = new Promise((resolve) => killed.child.once('exit', resolve));
    killed.child.kill('SIGKILL');
    await exited;
    const held = await leasedBy(killed.child.pid);
    const startedAt = Date.now();
    const next = await start({ SEND_MS: '0' });
    await waitFor(() => next.sent().length === 12, 10_000, 'the next owner to send all 12');
    // The killed owner's leases ran for 30 s: taken over long before.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(next.output()).toMatch(
      new RegExp(`Took over ${String(held)} message\\(s\\) from \\S+-${String(killed.child.pid)}-`),
    );
    expect(next.sent()).toEqual(Array.from({ length: 12 }, (_, n) => String(n)));
    expect(killed.sent()).toEqual([]);
  }, 40_000);
});
