import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerUnavailableError,
  type Message,
  type Messenger,
  type OutboxStore,
} from 'nestjs-messaging';
import { SqliteOutboxStore } from 'nestjs-messaging/sqlite';
import { waitFor } from './support/wait-for.js';

/** A bus that cannot be reached until `up` is set; records what it took. */
class FlakyBus implements Messenger {
  up = false;
  sends = 0;
  readonly delivered: Message[] = [];

  send(messages: readonly Message[]): Promise<void> {
    this.sends++;
    if (!this.up) return Promise.reject(new MessengerUnavailableError('the bus is down (test)'));
    this.delivered.push(...messages);
    return Promise.resolve();
  }
}

/** Counts the store's claims: a delivery worker that loops on a synchronous store claims without end. */
function countClaims(store: OutboxStore): { readonly claims: number } {
  const counter = { claims: 0 };
  const claim = store.claim.bind(store);
  store.claim = (request) => {
    counter.claims++;
    return claim(request);
  };
  return counter;
}

/** How late a 10 ms timer fires, in ms: a starved event loop answers late (or never). */
async function timerLateness(): Promise<number> {
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 10));
  return Date.now() - started - 10;
}

// Synchronous stores (memory, SQLite) answer claims in resolved promises: a claim loop that never
// waits for I/O keeps the event loop to itself. Found with one busy topic while the bus was down:
// the claimed messages went back to the store and were claimed again at once.
describe.each([
  ['MemoryOutboxStore', (): OutboxStore => new MemoryOutboxStore({ maxMessages: 10_000 })],
  ['SqliteOutboxStore', (dir: string): OutboxStore => new SqliteOutboxStore({ path: join(dir, 'outbox.db') })],
])('one busy topic while the bus is down, on a %s', (_, createStore) => {
  let moduleRef: TestingModule | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bus-down-'));
  });
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the event loop free, claims at the pace of the bus probes, and delivers everything once the bus is back', async () => {
    const bus = new FlakyBus();
    const store = createStore(dir);
    const counter = countClaims(store);
    moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: bus, outbox: store, dispatch: { busProbeIntervalMs: 200 } })],
    }).compile();
    await moduleRef.init();
    const queue = moduleRef.get(MessageQueue);
    for (let n = 0; n < 2000; n += 20) {
      await queue.run(() => {
        for (let i = n; i < n + 20; i++) queue.add('.releases.added', { n: i });
      });
    }
    await waitFor(() => bus.sends > 0, 5000, 'a first send to the unreachable bus');
    const claimsBefore = counter.claims;
    const lateness: number[] = [];
    for (let i = 0; i < 20; i++) lateness.push(await timerLateness());
    // About 400 ms of probes every ≤ 200 ms, each claiming at most 4 batches: a loop claims thousands.
    expect(counter.claims - claimsBefore).toBeLessThan(40);
    expect(Math.max(...lateness)).toBeLessThan(200);
    bus.up = true;
    await waitFor(() => bus.delivered.length === 2000, 20_000, 'all 2,000 messages delivered');
    expect(bus.delivered.map(({ body }) => body.n)).toEqual(Array.from({ length: 2000 }, (__, i) => i));
  }, 40_000);
});
