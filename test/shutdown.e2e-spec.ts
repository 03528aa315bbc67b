import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Post } from '@nestjs/common';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  OutboxClosedError,
  type ClaimRequest,
  type Message,
  type Messenger,
  type OutboxEntry,
  type OutboxStore,
} from 'nestjs-messaging';
import { SqliteOutboxStore } from 'nestjs-messaging/sqlite';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { DeliveryWorker } from '../lib/delivery/delivery.worker.js';
import { startApp, type RunningApp } from './support/http-app.js';
import { waitFor } from './support/wait-for.js';

/** A gate the test opens: the handler (or a send) waits on it. */
class Gate {
  entered = 0;
  private release: () => void = () => undefined;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));

  pass(): Promise<void> {
    this.entered++;
    return this.opened;
  }

  open(): void {
    this.release();
  }
}

let handlerGate = new Gate();

/** `POST /slow` waits for the test, then adds one message on `.slow`: a request in flight during app.close(). */
@Controller()
class SlowController {
  constructor(private readonly messages: MessageQueue) {}

  @Post('slow')
  async slow(): Promise<object> {
    await handlerGate.pass();
    this.messages.add('.slow', { n: 1 });
    return {};
  }

  @Post('fast')
  fast(): object {
    this.messages.add('.fast', {});
    return {};
  }
}

/** Delivers like CapturingMessenger, but the first send waits for `gate`. */
class FirstSendGated extends CapturingMessenger {
  readonly gate = new Gate();

  override async send(messages: readonly Message[]): Promise<void> {
    if (this.gate.entered === 0) await this.gate.pass();
    return super.send(messages);
  }
}

/** The memory store, counting the dispatcher's looks at it. */
class ClaimCountingStore extends MemoryOutboxStore {
  claims = 0;

  override claim(request: ClaimRequest): Promise<OutboxEntry[]> {
    this.claims++;
    return super.claim(request);
  }
}

describe('a request in flight while the application shuts down (express, real HTTP server)', () => {
  let running: RunningApp | undefined;
  let dir: string;
  beforeEach(() => {
    handlerGate = new Gate();
    dir = mkdtempSync(join(tmpdir(), 'shutdown-'));
  });
  afterEach(async () => {
    handlerGate.open();
    await running?.close();
    running = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(messenger: Messenger, outbox: OutboxStore, shutdownTimeoutMs = 5000): Promise<RunningApp> {
    running = await startApp('express', {
      imports: [MessagingModule.forRoot({ messenger, outbox, shutdownTimeoutMs })],
      controllers: [SlowController],
    });
    return running;
  }

  /** Starts `POST /slow`, waits until its handler runs, then starts app.close(). */
  async function slowRequestThenClose(app: RunningApp): Promise<{
    response: Promise<{ status: number }>;
    closing: Promise<void>;
  }> {
    const response = app.request('POST', '/slow');
    await waitFor(() => handlerGate.entered === 1, 5000, 'the handler to start');
    const closing = app.close();
    running = undefined;
    return { response, closing };
  }

  it('memory outbox, finished during the drain: 2xx and its message is delivered', async () => {
    const messenger = new FirstSendGated();
    const app = await start(messenger, new MemoryOutboxStore());
    // A send in flight keeps the drain busy.
    expect((await app.request('POST', '/fast')).status).toBe(201);
    await waitFor(() => messenger.gate.entered === 1, 5000, 'the first send to start');
    const worker = app.app.get(DeliveryWorker);
    const { response, closing } = await slowRequestThenClose(app);
    handlerGate.open();
    expect((await response).status).toBe(201);
    expect(worker.closed).toBe(false);
    messenger.gate.open();
    await closing;
    expect(messenger.topics).toEqual(['.fast', '.slow']);
  });

  it('memory outbox, nothing pending at close(): the drain waits for the request in flight, 2xx and delivered', async () => {
    const messenger = new CapturingMessenger();
    const store = new ClaimCountingStore();
    const app = await start(messenger, store);
    const worker = app.app.get(DeliveryWorker);
    const { response, closing } = await slowRequestThenClose(app);
    const claimsAtClose = store.claims;
    // The drain looked at the store, found nothing, and still waits for the open request.
    await waitFor(() => store.claims > claimsAtClose, 5000, 'the drain to look at the store');
    expect(worker.closed).toBe(false);
    handlerGate.open();
    expect((await response).status).toBe(201);
    await closing;
    expect(messenger.topics).toEqual(['.slow']);
    expect(app.logs.linesAt('error')).toEqual([]);
  });

  it('memory outbox, run() in flight at close(): it resolves and its message is delivered', async () => {
    const messenger = new CapturingMessenger();
    const store = new ClaimCountingStore();
    const app = await start(messenger, store);
    const worker = app.app.get(DeliveryWorker);
    const queue = app.app.get(MessageQueue);
    const job = queue.run(async () => {
      await handlerGate.pass();
      queue.add('.job', {});
    });
    await waitFor(() => handlerGate.entered === 1, 5000, 'the job to start');
    const claimsAtClose = store.claims;
    const closing = app.close();
    running = undefined;
    await waitFor(() => store.claims > claimsAtClose, 5000, 'the drain to look at the store');
    expect(worker.closed).toBe(false);
    handlerGate.open();
    await expect(job).resolves.toBeUndefined();
    await closing;
    expect(messenger.topics).toEqual(['.job']);
  });

  it('memory outbox, finished after shutdownTimeoutMs: a 5xx (OutboxClosedError), never a 2xx whose message is lost', async () => {
    const messenger = new CapturingMessenger();
    const app = await start(messenger, new MemoryOutboxStore(), 300);
    const worker = app.app.get(DeliveryWorker);
    const queue = app.app.get(MessageQueue);
    const { response, closing } = await slowRequestThenClose(app);
    // The drain ends while the handler still waits; Nest then closes the HTTP server, which waits for it.
    await waitFor(() => worker.closed, 5000, 'the shutdown drain to end');
    handlerGate.open();
    expect((await response).status).toBe(500);
    // Work outside requests learns it the same way.
    await expect(queue.run(() => queue.add('.job', {}))).rejects.toThrow(OutboxClosedError);
    await closing;
    expect(messenger.topics).toEqual([]);
    expect(app.logs.linesAt('error').join('\n')).toContain(
      'the application is shutting down and its outbox drain has ended',
    );
  });

  it('SQLite outbox, finished after shutdownTimeoutMs: 2xx, and its message waits in the outbox for the next start', async () => {
    const path = join(dir, 'outbox.db');
    const messenger = new CapturingMessenger();
    const app = await start(messenger, new SqliteOutboxStore({ path }), 300);
    const worker = app.app.get(DeliveryWorker);
    const { response, closing } = await slowRequestThenClose(app);
    await waitFor(() => worker.closed, 5000, 'the shutdown drain to end');
    handlerGate.open();
    expect((await response).status).toBe(201);
    await closing;
    expect(messenger.topics).toEqual([]);
    expect(app.logs.linesAt('warn').join('\n')).toContain(
      'Shutting down with 1 message(s) still pending; they stay in the outbox and are sent after the next start',
    );
    const reopened = new SqliteOutboxStore({ path });
    try {
      const pending = await reopened.list({ status: 'pending' }, 10);
      expect(pending.map(({ message }) => message.topic)).toEqual(['.slow']);
    } finally {
      await reopened.close();
    }
  });
});
