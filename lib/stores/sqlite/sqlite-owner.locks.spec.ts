import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessage } from '../../kernel/message.factory.js';
import { SqliteOutboxStore } from './sqlite-outbox.store.js';
import { ownerLockFileName } from './sqlite-owner.locks.js';

const BUILT = join(import.meta.dirname, '../../../dist/lib/stores/sqlite/index.js');
const HOUR = 3_600_000;
const LEASE = { leaseMs: 60_000 };
const folder = mkdtempSync(join(tmpdir(), 'sqlite-owner-spec-'));
let files = 0;

/** A dispatcher's store in another process (the built library): vouches for `owner`, claims 2 messages, prints READY. */
const OWNER = `
const { SqliteOutboxStore } = await import(process.argv[1]);
const store = new SqliteOutboxStore({ path: process.argv[2] });
await store.takeOverLeases(process.argv[3]);
const claimed = await store.claim({ owner: process.argv[3], limit: 2, now: Date.now(), leaseMs: 60000 });
process.stdout.write('READY ' + claimed.length + '\\n');
// Keeps the store referenced: a store that is garbage-collected closes its connections, as on close().
setInterval(() => store, 1000);
`;

describe('SqliteOutboxStore lease owners', () => {
  let path: string;
  const opened: SqliteOutboxStore[] = [];
  const children: ChildProcess[] = [];
  const open = (): SqliteOutboxStore => {
    const store = new SqliteOutboxStore({ path });
    opened.push(store);
    return store;
  };
  const leaseOwners = async (store: SqliteOutboxStore): Promise<(string | undefined)[]> =>
    (await store.list({}, 100)).map(({ lease }) => lease?.owner);
  const lockFiles = (): string[] => readdirSync(`${path}-owners`).sort();
  const startOwner = async (owner: string): Promise<ChildProcess> => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "npm run build" first (npm test does)`);
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', OWNER, pathToFileURL(BUILT).href, path, owner],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('READY 2\n');
    return child;
  };

  beforeEach(() => {
    path = join(folder, `owners-${String(++files)}.db`);
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it("keeps a live owner's leases in another process, whatever the caller's clock, and takes them over at once after kill -9", async () => {
    const writer = open();
    await writer.append([1, 2, 3].map((n) => createMessage('.a', { n })));
    const child = await startOwner('child-owner');

    // Alive: its file is locked. An instance an hour ahead neither takes over nor claims its leases.
    const second = open();
    expect(await second.takeOverLeases('second')).toEqual([]);
    expect(await second.claim({ owner: 'second', limit: 10, now: Date.now() + HOUR, ...LEASE })).toEqual([]);
    expect(await leaseOwners(second)).toEqual(['child-owner', 'child-owner', undefined]);
    expect(lockFiles()).toEqual(['child-owner.lock', 'second.lock']);

    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    const third = open();
    expect(await third.takeOverLeases('third')).toEqual([{ owner: 'child-owner', count: 2 }]);
    expect(
      (await third.list({}, 10)).map(({ attempts, lastError, lease }) => ({ attempts, lastError, lease })),
    ).toEqual([
      { attempts: 0, lastError: expect.stringContaining('claimed by child-owner, whose process has ended') as string },
      { attempts: 0, lastError: expect.stringContaining('claimed by child-owner') as string },
      { attempts: 0, lastError: undefined, lease: undefined },
    ]);
    expect(lockFiles()).toEqual(['second.lock', 'third.lock']);
    const resent = await third.claim({ owner: 'third', limit: 10, now: Date.now(), ...LEASE });
    expect(resent.map(({ message }) => message.body.n)).toEqual([1, 2, 3]);
    // The second and third are alive in this process: a later start takes nothing of theirs.
    expect(await open().takeOverLeases('fourth')).toEqual([]);
    expect(await leaseOwners(third)).toEqual(['third', 'third', 'third']);
  }, 20_000);

  it('keeps the leases of an owner of this process with its own store; takes them over once that store closed', async () => {
    const first = open();
    await first.append([createMessage('.a', { n: 1 }), createMessage('.b', { n: 2 })]);
    expect(await first.takeOverLeases('first')).toEqual([]);
    expect(await first.claim({ owner: 'first', limit: 1, now: Date.now(), ...LEASE })).toHaveLength(1);
    const second = open();
    expect(await second.takeOverLeases('second')).toEqual([]);
    expect(await second.takeOverLeases('second')).toEqual([]);
    expect(await leaseOwners(second)).toEqual(['first', undefined]);

    // Closed with a lease left (a drain that timed out): its file stays, unlocked, for the next start.
    await first.close();
    expect(lockFiles()).toEqual(['first.lock', 'second.lock']);
    expect(await open().takeOverLeases('third')).toEqual([{ owner: 'first', count: 1 }]);
    // Closed without leases: its file goes.
    await second.close();
    expect(lockFiles()).toEqual(['third.lock']);
  });

  it('cannot prove an owner without a lock file gone (an older version, a file removed): its leases wait for expiry', async () => {
    const store = open();
    await store.append([createMessage('.a', {})]);
    await store.claim({ owner: 'old-version', limit: 1, now: Date.now(), ...LEASE });
    // Not an owner's lock file: ignored, never taken as proof.
    await open().takeOverLeases('holder');
    writeFileSync(join(`${path}-owners`, ownerLockFileName('old-version')), 'not a database');
    expect(await open().takeOverLeases('next')).toEqual([]);
    expect(await leaseOwners(store)).toEqual(['old-version']);
  });

  it('names lock files safely, whatever the owner id, and keeps the id itself inside', async () => {
    expect(ownerLockFileName('host-42-7d1c')).toBe('host-42-7d1c.lock');
    for (const owner of ['../x', 'a/b', '.hidden', `it's a \\'quote`, 'é'.repeat(300)]) {
      expect(ownerLockFileName(owner)).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9_-]*-[0-9a-f]{32}\.lock$/);
    }
    expect(ownerLockFileName('a/b')).not.toBe(ownerLockFileName('a_b'));
    const store = open();
    await store.append([createMessage('.a', {})]);
    const owner = `../it's a \\'quote`;
    expect(await store.takeOverLeases(owner)).toEqual([]);
    await store.claim({ owner, limit: 1, now: Date.now(), ...LEASE });
    await store.close();
    expect(await open().takeOverLeases('next')).toEqual([{ owner, count: 1 }]);
  });
});
