import { MessagingModule, type DeliveryMode, type Message, type Messenger } from 'nestjs-messaging';
import { HTTP_PLATFORMS } from '../sample-app/http-platform.js';
import { OneMessageController } from './support/one-message.controller.js';
import { waitFor } from './support/wait-for.js';
import { startApp, type RunningApp } from './support/http-app.js';

/** A messenger whose sends complete only when the test opens the gate. */
class GatedMessenger implements Messenger {
  readonly started: (readonly Message[])[] = [];
  readonly finished: (readonly Message[])[] = [];
  private openGate: (() => void) | undefined;
  private readonly gate = new Promise<void>((resolve) => {
    this.openGate = resolve;
  });

  async send(messages: readonly Message[]): Promise<void> {
    this.started.push(messages);
    await this.gate;
    this.finished.push(messages);
  }

  open(): void {
    this.openGate?.();
  }
}

async function start(platform: (typeof HTTP_PLATFORMS)[number], delivery: DeliveryMode, messenger: Messenger) {
  return startApp(platform, {
    imports: [MessagingModule.forRoot({ messenger, delivery, shutdownTimeoutMs: 2000 })],
    controllers: [OneMessageController],
  });
}

describe.each(HTTP_PLATFORMS)('delivery modes on %s', (platform) => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('background (the default): the response does not wait for the messenger', async () => {
    const messenger = new GatedMessenger();
    running = await start(platform, 'background', messenger);
    const response = await running.request('POST', '/one');
    expect(response.status).toBe(201);
    // The send starts after the response (within the store's batch window), and cannot finish
    // until the gate opens: the response did not wait for it.
    await waitFor(() => messenger.started.length === 1, 2000, 'the send to start');
    expect(messenger.finished).toHaveLength(0);
    messenger.open();
  });

  it('background: shutdown waits for sends in flight', async () => {
    const messenger = new GatedMessenger();
    running = await start(platform, 'background', messenger);
    await running.request('POST', '/one');
    setTimeout(() => {
      messenger.open();
    }, 50);
    await running.close();
    running = undefined;
    expect(messenger.finished).toHaveLength(1);
  });

  it('await: the response waits until the messenger has sent', async () => {
    const messenger = new GatedMessenger();
    running = await start(platform, 'await', messenger);
    let answered = false;
    const response = running.request('POST', '/one').then((result) => {
      answered = true;
      return result;
    });
    // The send has started and cannot finish until the gate opens: the response must still be waiting.
    await waitFor(() => messenger.started.length === 1, 2000, 'the send to start');
    expect(answered).toBe(false);
    messenger.open();
    expect((await response).status).toBe(201);
    expect(messenger.finished).toHaveLength(1);
  });

  it('await: a failing messenger still does not change the response', async () => {
    const failing: Messenger = { send: () => Promise.reject(new Error('broker down')) };
    running = await start(platform, 'await', failing);
    const response = await running.request('POST', '/one');
    expect(response.status).toBe(201);
    // The response waited for the first attempt: its failure is already logged.
    expect(running.logs.linesAt('warn')).toEqual([expect.stringMatching(/failed \(attempt 1\).*broker down/)]);
    expect(running.logs.linesAt('error')).toEqual([]);
  });

  it('a messenger that throws synchronously is logged as a failed attempt, not raised', async () => {
    const throwing: Messenger = {
      send: () => {
        throw new Error('sync failure');
      },
    };
    running = await start(platform, 'background', throwing);
    const response = await running.request('POST', '/one');
    expect(response.status).toBe(201);
    await waitFor(() => running?.logs.linesAt('warn').length === 1);
    expect(running.logs.linesAt('warn')).toEqual([expect.stringMatching(/failed \(attempt 1\).*sync failure/)]);
  });
});
