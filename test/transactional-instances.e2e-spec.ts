import pg from 'pg';
import { brokers, consumeUntilIdle, declareTopicQueue } from './support/brokers.js';
import { request } from './support/http-app.js';
import { startSampleApp, stop, TRANSACTIONAL_APP, type SampleAppProcess } from './support/sample-app-process.js';
import { transactionalAppEnv } from './support/transactional-app.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';

const { shared, postgres } = brokers();
const TOPICS = 20;
const PER_TOPIC = 500;
const KILL_AFTER = 3000;
const LEASE_MS = 5000;
const tables = {
  products: `tx_multi_products_${String(process.pid)}`,
  outbox: `tx_multi_outbox_${String(process.pid)}`,
};
const queue = 'Consumer.tx-multi.VirtualTopic.eng.pdc.products.multi';
const admin = new pg.Pool({ connectionString: postgres.url });
const apps: SampleAppProcess[] = [];

beforeAll(async () => {
  await admin.query(`CREATE TABLE ${tables.products} (id serial PRIMARY KEY, name text NOT NULL)`);
  await declareTopicQueue(shared.url, queue, 'eng.pdc.products.multi.*');
  for (let i = 0; i < 3; i++) {
    apps.push(
      await startSampleApp(
        transactionalAppEnv('typeorm', tables, {
          MESSAGE_DISPATCH_LEASE_MS: String(LEASE_MS),
          // Delivered rows stay, with their attempt counts: the order check needs to know which were retried.
          MESSAGE_DISPATCH_RETAIN_DELIVERED_MS: '3600000',
        }),
        TRANSACTIONAL_APP,
      ),
    );
  }
}, 90_000);
afterAll(async () => {
  await Promise.all(apps.map(({ child }) => stop(child)));
  await admin.query(`DROP TABLE IF EXISTS ${tables.products}`);
  await dropPostgresOutbox(tables.outbox);
  await admin.end();
}, 60_000);

/** Names of the messages leased right now by the process with `pid`. */
async function leasedBy(pid: number): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>(
    `SELECT body->>'name' AS name FROM ${tables.outbox} WHERE status = 'pending' AND lease_owner LIKE $1`,
    [`%-${String(pid)}-%`],
  );
  return rows.map(({ name }) => name);
}

describe('three application instances on one PostgreSQL outbox', () => {
  it('deliver 10,000 transactional messages in per-topic order, and take over what a SIGKILLed one had claimed', async () => {
    const alive = [...apps];
    const committed = new Set<string>();
    const unknown = new Set<string>();
    let killedPid: number | undefined;
    let claimedByKilled: string[] = [];
    let killing: Promise<void> | undefined;
    const killOne = async (): Promise<void> => {
      const victim = alive[1];
      const pid = victim.child.pid ?? 0;
      alive.splice(alive.indexOf(victim), 1);
      // Frozen, it can neither send nor give leases back: kill it at a moment it holds some, so the
      // takeover is exercised every run.
      for (let tries = 0; tries < 200; tries++) {
        victim.child.kill('SIGSTOP');
        claimedByKilled = await leasedBy(pid);
        if (claimedByKilled.length > 0) break;
        victim.child.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      victim.child.kill('SIGKILL');
      killedPid = pid;
    };
    const topicWorker = async (topic: number): Promise<void> => {
      for (let n = 0; n < PER_TOPIC; n++) {
        const name = `t${String(topic)}:${String(n)}`;
        for (let attempt = 0; ; attempt++) {
          const app = alive[(n + topic + attempt) % alive.length];
          let status = 0;
          try {
            status = (
              await request(app.url, 'POST', '/products', {
                body: { name, topic: `.products.multi.t${String(topic)}` },
              })
            ).status;
          } catch {
            // The instance died with the request in flight: it may or may not have committed.
            unknown.add(name);
          }
          if (status === 201) {
            committed.add(name);
            break;
          }
          if (attempt > 10) throw new Error(`${name}: no instance accepted it (last status ${String(status)})`);
        }
        if (committed.size >= KILL_AFTER && killing === undefined) killing = killOne();
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: TOPICS }, (_, topic) => topicWorker(topic)));
    await killing;
    const loadSeconds = (Date.now() - started) / 1000;

    // Everything committed is delivered (the killed process's leases expire first) before the queue is read.
    for (const deadline = Date.now() + 60_000; ;) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${tables.outbox} WHERE status <> 'delivered'`,
      );
      if (rows[0].n === 0) break;
      if (Date.now() > deadline) throw new Error(`${String(rows[0].n)} message(s) still undelivered after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A message whose attempt failed (or whose claimer died) steps out of line by design: its resend may
    // follow later messages of its topic. Every other message must arrive in order.
    const retried = new Set(
      (
        await admin.query<{ name: string }>(
          `SELECT body->>'name' AS name FROM ${tables.outbox} WHERE last_error IS NOT NULL OR attempts > 0`,
        )
      ).rows.map(({ name }) => name),
    );
    const received = await consumeUntilIdle(shared.url, queue, 2000, 180_000);
    const ids = new Set<string>();
    let duplicateIds = 0;
    const firstSeen = new Map<number, number[]>();
    const receivedNames = new Set<string>();
    for (const message of received) {
      const id = String(message.message_id);
      if (ids.has(id)) {
        duplicateIds++;
        continue;
      }
      ids.add(id);
      const { name } = JSON.parse(message.body as string) as { name: string };
      // A request retried after its instance died may have committed twice: the later copy is a second message.
      if (receivedNames.has(name)) continue;
      receivedNames.add(name);
      if (retried.has(name)) continue;
      const [topic, n] = name.slice(1).split(':').map(Number);
      firstSeen.set(topic, [...(firstSeen.get(topic) ?? []), n]);
    }
    console.log(
      `3 instances: ${String(committed.size)} committed in ${loadSeconds.toFixed(1)} s, ${String(unknown.size)} ` +
        `with the answer lost to the kill; ${String(received.length)} messages received, ${String(duplicateIds)} ` +
        `duplicate id(s); process ${String(killedPid)} held ${String(claimedByKilled.length)} lease(s) when killed; ` +
        `${String(retried.size)} message(s) with a failed attempt (allowed out of line)`,
    );
    expect(committed.size).toBe(TOPICS * PER_TOPIC);
    // A missing message is shown with its outbox row, to tell a lost send from a lost row.
    const missing = [...new Set([...committed, ...claimedByKilled])].filter((name) => !receivedNames.has(name));
    const missingRows = (
      await admin.query(
        `SELECT body->>'name' AS name, status, attempts, last_error, lease_owner FROM ${tables.outbox}
         WHERE body->>'name' = ANY($1::text[])`,
        [missing],
      )
    ).rows;
    expect({ missing, missingRows }).toEqual({ missing: [], missingRows: [] });
    expect(claimedByKilled.length).toBeGreaterThan(0);
    for (const [topic, sequence] of firstSeen) {
      const outOfOrder = sequence.filter((n, index) => index > 0 && n <= sequence[index - 1]);
      expect({ topic, outOfOrder }).toEqual({ topic, outOfOrder: [] });
    }
  }, 300_000);
});
