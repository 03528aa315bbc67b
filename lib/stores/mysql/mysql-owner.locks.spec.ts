import { hostname } from 'node:os';
import mysql from 'mysql2/promise';
import { dropMysqlOutbox, mysqlUrl } from '../../../test/support/outbox-store-kinds.js';
import { createMessage } from '../../kernel/message.factory.js';
import { MysqlOutboxStore } from './mysql-outbox.store.js';

let tables = 0;
const HOUR = 3_600_000;

describe('MysqlOutboxStore lease owners (MariaDB)', () => {
  let admin: mysql.Pool;
  let table: string;
  const opened: MysqlOutboxStore[] = [];
  const open = (pool?: mysql.Pool): MysqlOutboxStore => {
    const store = new MysqlOutboxStore({
      ...(pool === undefined ? { connectionString: mysqlUrl() } : { pool }),
      table,
      createSchema: true,
    });
    opened.push(store);
    return store;
  };
  const leaseOwners = async (): Promise<(string | null)[]> =>
    (
      (await admin.query(`SELECT lease_owner FROM ${table} ORDER BY sequence`))[0] as { lease_owner: string | null }[]
    ).map((row) => row.lease_owner);
  beforeAll(() => {
    admin = mysql.createPool(mysqlUrl());
  });
  beforeEach(() => {
    table = `outbox_my_owner_spec_${String(process.pid)}_${String(++tables)}`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await dropMysqlOutbox(table);
  });
  afterAll(() => admin.end());

  it("leaves a live owner's leases alone, whatever the caller's clock says, and takes over a closed owner's at once", async () => {
    const first = open();
    await first.append([1, 2, 3].map((n) => createMessage('.a', { n })));
    expect(await first.takeOverLeases('first')).toEqual([]);
    expect(await first.claim({ owner: 'first', limit: 2, now: Date.now(), leaseMs: 60_000 })).toHaveLength(2);

    const second = open();
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
    expect(await open().takeOverLeases('fourth')).toEqual([]);
  });

  it('takes over the leases of an owner without a lock, even when its id names a live PID of this host', async () => {
    const store = open();
    await store.append([createMessage('.a', {})]);
    const owner = `${hostname()}-${String(process.pid)}-deadbeef`;
    await store.claim({ owner, limit: 1, now: Date.now(), leaseMs: 60_000 });
    expect(await open().takeOverLeases('next')).toEqual([{ owner, count: 1 }]);
  });

  it("keeps an owner's lock on a connection of the application's pool, and binds quotes in owner ids", async () => {
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 3 });
    try {
      const store = open(pool);
      await store.append([createMessage('.a', {}), createMessage('.b', {})]);
      const owner = String.raw`it's a \'quote\\`;
      expect(await store.takeOverLeases(owner)).toEqual([]);
      const [entry] = await store.claim({ owner, limit: 1, now: Date.now(), leaseMs: 60_000 });
      expect(entry.lease?.owner).toBe(owner);
      // Alive: another instance takes nothing of it, and the topic stays blocked for others.
      expect(await open().takeOverLeases('other')).toEqual([]);
      const next = await store.claim({ owner: 'other', limit: 10, now: Date.now(), leaseMs: 60_000 });
      expect(next.map(({ message }) => message.topic)).toEqual(['.b']);
      await store.close();
      expect(await open().takeOverLeases('later')).toEqual([{ owner, count: 1 }]);
    } finally {
      await Promise.all(opened.splice(0).map((store) => store.close()));
      await pool.end();
    }
  });
});
