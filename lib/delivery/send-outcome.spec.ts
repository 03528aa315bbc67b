import { createMessage } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import { MessengerSendError } from '../kernel/messenger-send.error.js';
import { MessagingError, MessengerUnavailableError, NonRetryableMessageError } from '../kernel/messaging.errors.js';
import type { Messenger } from '../kernel/messenger.interface.js';
import { sendOutcome } from './send-outcome.js';

/** A custom messenger (not AMQP) whose bus takes some messages and refuses others. */
class QuotaMessenger implements Messenger {
  constructor(
    private readonly refuse: (message: Message) => string | undefined,
    private readonly connectionLostAt?: string,
  ) {}

  send(messages: readonly Message[]): Promise<void> {
    const acceptedIds: string[] = [];
    const failures: { messageId: string; reason: string; counted: boolean }[] = [];
    let lost = false;
    for (const message of messages) {
      lost ||= message.id === this.connectionLostAt;
      const refusal = this.refuse(message);
      if (lost) failures.push({ messageId: message.id, reason: 'connection reset', counted: false });
      else if (refusal !== undefined) failures.push({ messageId: message.id, reason: refusal, counted: true });
      else acceptedIds.push(message.id);
    }
    if (failures.length === 0) return Promise.resolve();
    return Promise.reject(
      new MessengerSendError({ acceptedIds, failures, unavailable: lost ? 'connection reset' : undefined }),
    );
  }
}

async function rejectionOf(sending: Promise<void>): Promise<unknown> {
  try {
    await sending;
  } catch (error) {
    return error;
  }
  throw new Error('expected send() to reject');
}

const batch = (): Message[] => [1, 2, 3, 4].map((n) => createMessage('.quota', { n }));

describe('sendOutcome', () => {
  it("reads a custom messenger's partial success: accepted ids delivered, refused ones counted", async () => {
    const messages = batch();
    const messenger = new QuotaMessenger(({ body }) => (body.n === 2 ? 'quota exceeded (429)' : undefined));
    const error = await rejectionOf(messenger.send(messages));
    expect(error).toBeInstanceOf(MessagingError);
    expect((error as Error).message).toBe(
      `The messenger did not send 1 of 4 message(s): message ${messages[1].id}: quota exceeded (429)`,
    );
    expect(sendOutcome(error, messages)).toEqual({
      deliveredIds: [messages[0].id, messages[2].id, messages[3].id],
      unsent: [{ message: messages[1], reason: 'quota exceeded (429)', counted: true }],
      unavailable: undefined,
      unavailableLogged: false,
    });
  });

  it("carries a failure's retryAt, and whether the messenger already logged why the bus is unreachable", () => {
    const [first, second] = batch();
    const retryAt = Date.now() + 30_000;
    const outcome = sendOutcome(
      new MessengerSendError({
        acceptedIds: [],
        failures: [{ messageId: first.id, reason: 'address refused', counted: false, retryAt }],
        unavailable: 'refused',
        unavailableLogged: true,
      }),
      [first, second],
    );
    expect(outcome.unsent[0]).toEqual({ message: first, reason: 'address refused', counted: false, retryAt });
    expect(outcome.unsent[1]).not.toHaveProperty('retryAt');
    expect(outcome.unavailableLogged).toBe(true);
    expect(
      sendOutcome(new MessengerUnavailableError('login refused', { logged: true }), [first]).unavailableLogged,
    ).toBe(true);
    expect(sendOutcome(new MessengerUnavailableError('no route to host'), [first]).unavailableLogged).toBe(false);
  });

  it('keeps not-counted failures apart and pauses when the messenger marks the bus unavailable', async () => {
    const messages = batch();
    const messenger = new QuotaMessenger(({ body }) => (body.n === 1 ? 'too large' : undefined), messages[2].id);
    const outcome = sendOutcome(await rejectionOf(messenger.send(messages)), messages);
    expect(outcome.deliveredIds).toEqual([messages[1].id]);
    expect(outcome.unsent.map(({ message, counted }) => [message.id, counted])).toEqual([
      [messages[0].id, true],
      [messages[2].id, false],
      [messages[3].id, false],
    ]);
    expect(outcome.unavailable).toBe('connection reset');
  });

  it('fails a message the report forgot (counted), prefers a failure over acceptance, ignores foreign ids', () => {
    const messages = batch();
    const error = new MessengerSendError({
      acceptedIds: [messages[0].id, messages[1].id, 'another-batch'],
      failures: [{ messageId: messages[1].id, reason: 'nack', counted: true }],
    });
    const outcome = sendOutcome(error, messages);
    expect(outcome.deliveredIds).toEqual([messages[0].id]);
    expect(outcome.unsent.map(({ message, reason, counted }) => [message.id, reason, counted])).toEqual([
      [messages[1].id, 'nack', true],
      [messages[2].id, `not reported by the messenger, which failed with: ${error.message}`, true],
      [messages[3].id, `not reported by the messenger, which failed with: ${error.message}`, true],
    ]);
  });

  it('counts nothing against a forgotten message when the bus is unavailable', () => {
    const [message] = batch();
    const outcome = sendOutcome(new MessengerSendError({ acceptedIds: [], failures: [], unavailable: 'down' }), [
      message,
    ]);
    expect(outcome.unsent).toEqual([expect.objectContaining({ message, counted: false })]);
    expect(outcome.unavailable).toBe('down');
  });

  it('counts nothing when nothing reached the bus, and everything for any other error', () => {
    const messages = batch();
    const down = sendOutcome(new MessengerUnavailableError('no route to host'), messages);
    expect(down.unavailable).toBe('no route to host');
    expect(down.unsent.every(({ counted }) => !counted)).toBe(true);
    const failed = sendOutcome(new Error('boom'), messages);
    expect(failed.unavailable).toBeUndefined();
    expect(failed.deliveredIds).toEqual([]);
    expect(failed.unsent.map(({ reason, counted }) => [reason, counted])).toEqual(messages.map(() => ['boom', true]));
    expect(sendOutcome('plain string', messages.slice(0, 1)).unsent[0].reason).toBe('plain string');
  });
});

describe('sendOutcome and non-retryable failures', () => {
  it('marks every message of a batch failed with NonRetryableMessageError non-retryable, counted', () => {
    const messages = batch();
    const outcome = sendOutcome(new NonRetryableMessageError('payload over 1 MiB'), messages);
    expect(outcome.unsent).toEqual(
      messages.map((message) => ({ message, reason: 'payload over 1 MiB', counted: true, retryable: false })),
    );
  });

  it('keeps retryable: false of a MessengerSendError failure, counted whatever it says', () => {
    const messages = batch();
    const error = new MessengerSendError({
      acceptedIds: [messages[0].id],
      failures: [
        { messageId: messages[1].id, reason: 'too large', counted: false, retryable: false, retryAt: 1 },
        { messageId: messages[2].id, reason: 'busy', counted: true, retryable: true },
        { messageId: messages[3].id, reason: 'busy', counted: true },
      ],
    });
    expect(sendOutcome(error, messages).unsent).toEqual([
      { message: messages[1], reason: 'too large', counted: true, retryable: false },
      { message: messages[2], reason: 'busy', counted: true },
      { message: messages[3], reason: 'busy', counted: true },
    ]);
  });
});
