import mysql from 'mysql2/promise';
import { brokers, consumeUntilIdle, declareTopicQueue } from './support/brokers.js';
import { request } from './support/http-app.js';
import { dropMysqlOutbox, mysqlUrl } from './support/outbox-store-kinds.js';
import { startSampleApp, stop, type SampleAppProcess } from './support/sample-app-process.js';

/*
 * Three instances of the sample app on one MariaDB outbox (MESSAGE_OUTBOX=mysql), announcing on the
 * shared RabbitMQ; producers create releases through all three (each message appended by the
 * store's own path, MysqlOutboxStore.append()), and one instance is SIGKILLed mid-stream while it
 * holds leases. Every committed message is delivered, each producer's messages in order within
 * their ordering key (`.releases.added`, the topic), and duplicates are counted.
 */

const { shared } = brokers();
const url = mysqlUrl();
const PRODUCERS = 10;
const PER_PRODUCER = 300;
const KILL_AFTER = 1000;
const LEASE_MS = 5000;
const table = `mysql_instances_${String(process.pid)}`;
const queue = `Consumer.mysql-instances-${String(process.pid)}.VirtualTopic.eng.pdc.releases.added`;
const admin = mysql.createPool(url);
const apps: SampleAppProcess[] = [];

beforeAll(async () => {
  await declareTopicQueue(shared.url, queue, 'eng.pdc.releases.added');
  for (let i = 0; i < 3; i++) {
    apps.push(
      await startSampleApp({
        MESSAGE_OUTBOX: 'mysql',
        MESSAGE_OUTBOX_URL: url,
        MESSAGE_OUTBOX_TABLE: table,
        MESSAGE_BUS_BACKEND: 'amqp',
        MESSAGE_BUS_URLS: shared.url,
        MESSAGE_BUS_ADDRESS: '/topic/{prefix}{topic}',
        MESSAGE_BUS_TOPIC_PREFIX: 'eng.pdc',
        MESSAGE_BUS_USERNAME: 'guest',
        MESSAGE_BUS_PASSWORD: 'guest',
        MESSAGE_DISPATCH_LEASE_MS: String(LEASE_MS),
        // Delivered rows stay, with their attempt counts: the order check needs to know which were retried.
        MESSAGE_DISPATCH_RETAIN_DELIVERED_MS: '3600000',
      }),
    );
  }
}, 90_000);
afterAll(async () => {
  await Promise.all(apps.map(({ child }) => stop(child)));
  await dropMysqlOutbox(table);
  await admin.end();
}, 60_000);

const RELEASE_ID = `JSON_UNQUOTE(JSON_EXTRACT(body, '$.new_value.release_id'))`;

/** Release ids of the messages leased right now by the process with `pid`. */
async function leasedBy(pid: number): Promise<string[]> {
  const [rows] = (await admin.query(
    `SELECT ${RELEASE_ID} AS name FROM ${table} WHERE status = 'pending' AND lease_owner LIKE ?`,
    [`%-${String(pid)}-%`],
  )) as unknown as [{ name: string }[]];
  return rows.map(({ name }) => name);
}

describe('three application instances on one MariaDB outbox', () => {
  it('deliver every committed message in per-key order, and take over what a SIGKILLed one had claimed', async () => {
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
      // Frozen, it can neither send nor give leases back: kill it at a moment it holds some.
      for (let tries = 0; tries < 300; tries++) {
        victim.child.kill('SIGSTOP');
        claimedByKilled = await leasedBy(pid);
        if (claimedByKilled.length > 0) break;
        victim.child.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      victim.child.kill('SIGKILL');
      killedPid = pid;
    };
    const producer = async (p: number): Promise<void> => {
      for (let n = 0; n < PER_PRODUCER; n++) {
        const name = `p${String(p)}-${String(n)}`;
        for (let attempt = 0; ; attempt++) {
          const app = alive[(n + p + attempt) % alive.length];
          let status = 0;
          try {
            status = (
              await request(app.url, 'POST', '/releases', {
                body: { short: `p${String(p)}`, version: String(n), name },
              })
            ).status;
          } catch {
            // The instance died with the request in flight: it may or may not have stored it.
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
    await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));
    await killing;
    const loadSeconds = (Date.now() - started) / 1000;

    // Everything stored is delivered (the killed process's leases expire first) before the queue is read.
    for (const deadline = Date.now() + 60_000; ;) {
      const [[{ n }]] = (await admin.query(
        `SELECT COUNT(*) AS n FROM ${table} WHERE status <> 'delivered'`,
      )) as unknown as [[{ n: number | string }]];
      if (Number(n) === 0) break;
      if (Date.now() > deadline) throw new Error(`${String(n)} message(s) still undelivered after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A message whose attempt failed (or whose claimer died) steps out of line by design (onFailure
    // 'step-aside'): its resend may follow later messages of its key. Every other one must be in order.
    const [retriedRows] = (await admin.query(
      `SELECT ${RELEASE_ID} AS name FROM ${table} WHERE last_error IS NOT NULL OR attempts > 0`,
    )) as unknown as [{ name: string }[]];
    const retried = new Set(retriedRows.map(({ name }) => name));
    const received = await consumeUntilIdle(shared.url, queue, 2000, 180_000);
    const ids = new Set<string>();
    let duplicateIds = 0;
    let duplicateNames = 0;
    const firstSeen = new Map<number, number[]>();
    const receivedNames = new Set<string>();
    for (const message of received) {
      const id = String(message.message_id);
      if (ids.has(id)) {
        duplicateIds++;
        continue;
      }
      ids.add(id);
      const { new_value: release } = JSON.parse(message.body as string) as { new_value: { release_id: string } };
      const name = release.release_id;
      // A request retried after its instance died may have been stored twice: the later copy is a second message.
      if (receivedNames.has(name)) {
        duplicateNames++;
        continue;
      }
      receivedNames.add(name);
      if (retried.has(name)) continue;
      const [p, n] = name.slice(1).split('-').map(Number);
      firstSeen.set(p, [...(firstSeen.get(p) ?? []), n]);
    }
    console.log(
      `3 instances on MariaDB: ${String(committed.size)} committed in ${loadSeconds.toFixed(1)} s, ${String(unknown.size)} ` +
        `with the answer lost to the kill; ${String(received.length)} messages received, ${String(duplicateIds)} ` +
        `duplicate id(s), ${String(duplicateNames)} release(s) stored twice by a retried request; process ` +
        `${String(killedPid)} held ${String(claimedByKilled.length)} lease(s) when killed; ` +
        `${String(retried.size)} message(s) with a failed attempt (allowed out of line)`,
    );
    expect(committed.size).toBe(PRODUCERS * PER_PRODUCER);
    // A missing message is shown with its outbox row, to tell a lost send from a lost row.
    const missing = [...new Set([...committed, ...claimedByKilled])].filter((name) => !receivedNames.has(name));
    const [missingRows] =
      missing.length === 0
        ? [[]]
        : ((await admin.query(
            `SELECT ${RELEASE_ID} AS name, status, attempts, last_error, lease_owner FROM ${table} WHERE ${RELEASE_ID} IN (?)`,
            [missing],
          )) as unknown as [unknown[]]);
    expect({ missing, missingRows }).toEqual({ missing: [], missingRows: [] });
    expect(claimedByKilled.length).toBeGreaterThan(0);
    for (const [p, sequence] of firstSeen) {
      const outOfOrder = sequence.filter((n, index) => index > 0 && n <= sequence[index - 1]);
      expect({ producer: p, outOfOrder }).toEqual({ producer: p, outOfOrder: [] });
    }
    expect(firstSeen.size).toBe(PRODUCERS);
  }, 300_000);
});
