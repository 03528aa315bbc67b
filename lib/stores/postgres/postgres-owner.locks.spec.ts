import { hostname } from 'node:os';
import pg from 'pg';
import { brokers } from '../../../test/support/brokers.js';
import { createMessage } from '../../kernel/message.factory.js';
import { PostgresOutboxStore } from './postgres-outbox.store.js';
import { dropPostgresOutbox } from '../../../test/support/outbox-store-kinds.js';

const url = (): string => brokers().postgres.url;
let tables = 0;
const HOUR = 3_600_000;

describe('PostgresOutboxStore lease owners', () => {
  let admin: pg.Pool;
  let table: string;
  const opened: PostgresOutboxStore[] = [];
  const open = (extra: Record<string, unknown> = {}): PostgresOutboxStore => {
    const connection = { connectionString: url(), ...extra };
    const store = new PostgresOutboxStore({ connection, table, createSchema: true, listen: false });
    opened.push(store);
    return store;
  };
  const leaseOwners = async (): Promise<(string | null)[]> =>
    (await admin.query<{ lease_owner: string | null }>(`SELECT lease_owner FROM ${table} ORDER BY sequence`)).rows.map(
      (row) => row.lease_owner,
    );
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url() });
  });
  beforeEach(() => {
    table = `outbox_owner_spec_${String(process.pid)}_${String(++tables)}`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await dropPostgresOutbox(table);
  });
  afterAll(() => admin.end());

  it("leaves a live owner's leases alone, whatever the caller's clock says, and takes over a closed owner's at once", async () => {
    const first = open();
    await first.append([1, 2, 3].map((n) => createMessage('.a', { n })));
    expect(await first.takeOverLeases('first')).toEqual([]);
    expect(await first.claim({ owner: 'first', limit: 2, now: Date.now(), leaseMs: 60_000 })).toHaveLength(2);

    const second = open();
    // Alive: its lock is held. A second instance an hour ahead neither takes over nor claims its leases.
    expect(await second.takeOverLeases('second')).toEqual([]);
    const ahead = await second.claim({ owner: 'second', limit: 10, now: Date.now() + HOUR, leaseMs: 60_000 });
    expect(ahead).toEqual([]);
    expect(await leaseOwners()).toEqual(['first', 'first', null]);

    // Its session ends (a crash, kill -9 or exit ends it the same way): the next start takes over.
    await first.close();
    const third = open();
    expect(await third.takeOverLeases('third')).toEqual([{ owner: 'first', count: 2 }]);
    expect(await leaseOwners()).toEqual([null, null, null]);
    expect((await third.list({}, 10)).map(({ attempts, lastError }) => ({ attempts, lastError }))).toEqual([
      { attempts: 0, lastError: expect.stringContaining('claimed by first, whose process has ended') as string },
      { attempts: 0, lastError: expect.stringContaining('claimed by first') as string },
      { attempts: 0, lastError: undefined },
    ]);
    const resent = await third.claim({ owner: 'third', limit: 10, now: Date.now(), leaseMs: 60_000 });
    expect(resent.map(({ message }) => message.body.n)).toEqual([1, 2, 3]);
    // The second is still alive: a later start takes nothing of the third's or the second's.
    expect(await open().takeOverLeases('fourth')).toEqual([]);
  });

  it('takes over the leases of an owner without a lock, even when its id names a live PID of this host', async () => {
    const store = open();
    await store.append([createMessage('.a', {})]);
    // A PID in use (this very process, as after PID reuse) proves nothing; the free lock does.
    const owner = `${hostname()}-${String(process.pid)}-deadbeef`;
    await store.claim({ owner, limit: 1, now: Date.now(), leaseMs: 60_000 });
    expect(await open().takeOverLeases('next')).toEqual([{ owner, count: 1 }]);
  });

  it('binds owner ids as parameters, so quotes and backslashes are kept whatever standard_conforming_strings is', async () => {
    const store = open({ options: '-c standard_conforming_strings=off' });
    await store.append([createMessage('.a', {}), createMessage('.b', {})]);
    const owner = String.raw`it's a \'quote\\`;
    const [entry] = await store.claim({ owner, limit: 1, now: Date.now(), leaseMs: 60_000 });
    expect(entry.lease?.owner).toBe(owner);
    expect(await leaseOwners()).toEqual([owner, null]);
    // The topic of another owner's lease is blocked for the next claimer, the other topic is not.
    const next = await store.claim({ owner: 'other', limit: 10, now: Date.now(), leaseMs: 60_000 });
    expect(next.map(({ message }) => message.topic)).toEqual(['.b']);
  });
});
