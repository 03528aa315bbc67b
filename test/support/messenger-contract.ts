import {
  createMessage,
  MessengerSendError,
  MessengerUnavailableError,
  type Message,
  type Messenger,
} from 'nestjs-messaging';
import { sendOutcome } from '../../lib/delivery/send-outcome.js';
import { waitFor } from './wait-for.js';

/** A messenger under test, wired to a bus whose receiving side the test can read. */
export interface ContractBus {
  readonly messenger: Messenger;
  /** Ids of the messages the receiving side has got so far, in the order it got them. */
  received(): readonly string[];
  /** Closes the messenger and the bus. */
  close(): Promise<void>;
}

/** A case that cannot apply to a messenger: why, and what the messenger does instead (run as a test). */
export interface DoesNotApply {
  readonly doesNotApply: string;
  readonly instead: { readonly title: string; readonly check: () => Promise<void> };
}

/** How a messenger's bus can be made to refuse messages. */
export type Refusing =
  /** The transport refuses single messages: a bus that refuses the ids `refuse` picks. */
  | { readonly per: 'message'; readonly open: (refuse: (messageId: string) => boolean) => Promise<ContractBus> }
  /** The transport can only fail a batch as a whole: a bus that refuses every batch. */
  | { readonly per: 'batch'; readonly open: () => Promise<ContractBus> }
  | DoesNotApply;

/** What `describeMessengerContract` needs to run the contract against one messenger. */
export interface MessengerContractSetup {
  /** A messenger on a bus that takes every message. */
  readonly open: () => Promise<ContractBus>;
  /**
   * `true` when the receiving side has every message by the time `send()`
   * resolves (the bus acknowledges); else why not, and the suite waits.
   */
  readonly acknowledged: true | { readonly doesNotApply: string };
  readonly refusing: Refusing;
  /** A messenger whose bus cannot be reached. */
  readonly unreachable: { readonly open: () => Promise<ContractBus> } | DoesNotApply;
}

const appliesNot = (setup: object): setup is DoesNotApply => 'doesNotApply' in setup;

async function rejectionOf(sending: Promise<void>): Promise<unknown> {
  try {
    await sending;
  } catch (error) {
    return error;
  }
  throw new Error('expected send() to reject');
}

/** Ids in `received` of the messages of `messages` on `topic`, in received order. */
function receivedOn(topic: string, messages: readonly Message[], received: readonly string[]): string[] {
  const ids = new Set(messages.filter((message) => message.topic === topic).map(({ id }) => id));
  return received.filter((id) => ids.has(id));
}

const idsOf = (messages: readonly Message[]): string[] => messages.map(({ id }) => id);
const onTopic = (topic: string, count: number, from = 0): Message[] =>
  Array.from({ length: count }, (_, n) => createMessage(topic, { n: from + n }));

/**
 * The `Messenger` contract the delivery worker relies on (see the TSDoc of
 * `Messenger`), as one Jest `describe` for the messenger `name`. A case that
 * cannot apply is named as such, and what the messenger does instead is
 * checked in its place.
 */
export function describeMessengerContract(name: string, setup: MessengerContractSetup): void {
  describe(`the Messenger contract: ${name}`, () => {
    const opened: ContractBus[] = [];
    const open = async (opening: Promise<ContractBus>): Promise<ContractBus> => {
      const bus = await opening;
      opened.push(bus);
      return bus;
    };
    afterEach(async () => {
      for (const bus of opened.splice(0).reverse()) await bus.close();
    });

    async function expectReceived(bus: ContractBus, messages: readonly Message[], times = 1): Promise<void> {
      const all = (): boolean =>
        messages.every(({ id }) => bus.received().filter((seen) => seen === id).length >= times);
      if (setup.acknowledged === true) expect(all()).toBe(true);
      else await waitFor(all, 5000, `${messages.length} message(s) at the receiver`);
    }

    const resolveTitle =
      setup.acknowledged === true
        ? 'resolves for a batch the bus takes, once the receiver has every message, each topic in order'
        : `resolves for a batch the bus takes; the receiver gets every message, each topic in order (no acknowledgement: ${setup.acknowledged.doesNotApply})`;
    it(resolveTitle, async () => {
      const bus = await open(setup.open());
      const batch = [...onTopic('.contract.a', 2), ...onTopic('.contract.b', 2), ...onTopic('.contract.a', 2, 2)];
      await expect(bus.messenger.send(batch)).resolves.toBeUndefined();
      await expectReceived(bus, batch);
      for (const topic of ['.contract.a', '.contract.b']) {
        expect(receivedOn(topic, batch, bus.received())).toEqual(idsOf(batch.filter((m) => m.topic === topic)));
      }
    });

    it('resolves concurrent send() calls for batches of different topics, each topic in order at the receiver', async () => {
      const bus = await open(setup.open());
      const batches = ['.contract.x', '.contract.y', '.contract.z'].map((topic) => onTopic(topic, 20));
      await expect(Promise.all(batches.map((batch) => bus.messenger.send(batch)))).resolves.toHaveLength(3);
      for (const batch of batches) {
        await expectReceived(bus, batch);
        expect(receivedOn(batch[0].topic, batch, bus.received())).toEqual(idsOf(batch));
      }
    });

    it('accepts the same messages again (a retry after a timeout: at-least-once, ids stable)', async () => {
      const bus = await open(setup.open());
      const batch = onTopic('.contract.again', 3);
      await bus.messenger.send(batch);
      await expect(bus.messenger.send(batch)).resolves.toBeUndefined();
      await expectReceived(bus, batch, 2);
    });

    describeRefusal(setup.refusing, open);
    describeUnreachable(setup.unreachable, open);
  });
}

type Open = (opening: Promise<ContractBus>) => Promise<ContractBus>;

function describeRefusal(refusing: Refusing, open: Open): void {
  if (appliesNot(refusing)) {
    it(`refusing one message does not apply (${refusing.doesNotApply}); instead: ${refusing.instead.title}`, () =>
      refusing.instead.check());
    return;
  }
  if (refusing.per === 'batch') {
    it('rejects the whole batch the bus refuses, so every message counts one attempt', async () => {
      const bus = await open(refusing.open());
      const batch = onTopic('.contract.refused', 2);
      const error = await rejectionOf(bus.messenger.send(batch));
      const outcome = sendOutcome(error, batch);
      expect(outcome).toMatchObject({ deliveredIds: [], unavailable: undefined });
      expect(outcome.unsent.map(({ message, counted }) => [message.id, counted])).toEqual(
        batch.map(({ id }) => [id, true]),
      );
      expect(receivedOn('.contract.refused', batch, bus.received())).toEqual([]);
    });
    return;
  }
  it('reports a message the bus refuses through MessengerSendError: the others accepted, it counted', async () => {
    const batch = onTopic('.contract.partial', 4);
    const refused = new Set([batch[1].id]);
    const bus = await open(refusing.open((id) => refused.has(id)));
    const error = await rejectionOf(bus.messenger.send(batch));
    expect(error).toBeInstanceOf(MessengerSendError);
    const { acceptedIds, failures, unavailable } = error as MessengerSendError;
    expect([...acceptedIds].sort()).toEqual(idsOf(batch.filter(({ id }) => !refused.has(id))).sort());
    expect(failures.map(({ messageId, counted }) => [messageId, counted])).toEqual([[batch[1].id, true]]);
    expect(failures[0].reason).not.toBe('');
    expect(unavailable).toBeUndefined();
    expect(sendOutcome(error, batch).deliveredIds).toEqual(idsOf(batch.filter(({ id }) => !refused.has(id))));
  });
}

function describeUnreachable(unreachable: MessengerContractSetup['unreachable'], open: Open): void {
  if (appliesNot(unreachable)) {
    it(`an unreachable bus does not apply (${unreachable.doesNotApply}); instead: ${unreachable.instead.title}`, () =>
      unreachable.instead.check());
    return;
  }
  it('rejects with MessengerUnavailableError (or a MessengerSendError marked unavailable) when the bus is unreachable, counting nothing', async () => {
    const bus = await open(unreachable.open());
    const batch = onTopic('.contract.unreachable', 2);
    const error = await rejectionOf(bus.messenger.send(batch));
    expect(
      error instanceof MessengerUnavailableError ||
        (error instanceof MessengerSendError && error.unavailable !== undefined),
    ).toBe(true);
    const outcome = sendOutcome(error, batch);
    expect(outcome.unavailable).toEqual(expect.any(String));
    expect(outcome.deliveredIds).toEqual([]);
    expect(outcome.unsent.map(({ message, counted }) => [message.id, counted])).toEqual(
      batch.map(({ id }) => [id, false]),
    );
    expect(bus.received()).toEqual([]);
  });
}
