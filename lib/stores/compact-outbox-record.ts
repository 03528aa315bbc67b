import { EMPTY_HEADERS } from '../kernel/message.factory.js';
import type { Message, MessageHeaders } from '../kernel/message.interface.js';
import type { AttemptRecord } from '../kernel/outbox-entry.interface.js';
import { uuidv7Time } from '../kernel/uuid-v7.js';
import { parseFrozenBody } from './outbox-entry.mapper.js';
import type { FilteredState } from './outbox-filter.js';
import { NO_ATTEMPTS, pendingRecord, type OutboxRecord } from './outbox-record.js';

/**
 * A pending message never handed out, as `MemoryOutboxStore` holds its backlog (see its
 * `compactFrom` option): the envelope's fields and the body as JSON text, one flat string instead
 * of a tree of frozen objects (a 214-byte body: about 230 heap bytes instead of 400), and no
 * delivery state of its own: it reads as pending, never attempted and not leased. The store
 * swaps it for an `OutboxRecord` when it claims it; `message` rebuilds the message on each read
 * (listing), deep-frozen as it was accepted. Make one with `compactRecord()`.
 *
 * Every field costs 8 bytes (Node.js's V8 has no pointer compression), and a time since the epoch
 * a heap number (16 bytes) of its own: a message added with no options (most of a backlog) is
 * held by `PlainCompactRecord`, which keeps 5 fields and derives the rest.
 */
export abstract class CompactRecord implements Readonly<OutboxRecord> {
  /** @param bodyJson - the message's body as JSON text. */
  constructor(
    readonly sequence: number,
    readonly id: string,
    readonly topic: string,
    private readonly bodyJson: string,
  ) {}

  /** The ordering key (`Message.key`). */
  abstract readonly key: string | null;
  /** When `add()` made the message, ms since the epoch. */
  protected abstract readonly timestamp: number;
  protected abstract readonly headers: MessageHeaders;
  /** When it is first due, ms since the epoch; `undefined`: at once (at `createdAt`). */
  protected abstract readonly due: number | undefined;
  /** When the store accepted it, ms since the epoch. */
  abstract readonly createdAt: number;

  get message(): Message {
    return Object.freeze({
      id: this.id,
      topic: this.topic,
      key: this.key,
      body: parseFrozenBody(this.bodyJson),
      headers: this.headers,
      timestamp: this.timestamp,
    });
  }

  get nextAttemptAt(): number {
    return this.due ?? this.createdAt;
  }

  /** A delayed message holds its key (as `pendingRecord()` decides for a full record). */
  get holdsKey(): boolean {
    return this.due !== undefined && this.due > this.createdAt && this.key !== null;
  }

  /** What `outboxFilterPredicate()` reads, without rebuilding the message. */
  get filtered(): FilteredState {
    return { message: this, status: 'pending', createdAt: this.createdAt, settledAt: undefined };
  }

  /** The full record the store holds from its first claim on. */
  expand(): OutboxRecord {
    return pendingRecord(this.message, this.sequence, this.createdAt, this.due);
  }

  get status(): 'pending' {
    return 'pending';
  }
  get attempts(): number {
    return 0;
  }
  get history(): AttemptRecord[] {
    return NO_ATTEMPTS;
  }
  get lastError(): undefined {
    return undefined;
  }
  get deadReason(): undefined {
    return undefined;
  }
  get settledAt(): undefined {
    return undefined;
  }
  get leaseOwner(): undefined {
    return undefined;
  }
  get leaseExpiresAt(): undefined {
    return undefined;
  }
}

/** Any message: every field of the envelope kept as it came. */
class EnvelopeCompactRecord extends CompactRecord {
  readonly key: string | null;
  protected readonly headers: MessageHeaders;
  protected readonly timestamp: number;
  protected readonly due: number | undefined;
  /**
   * `createdAt - timestamp`: the ms between `add()` and storing, a small integer that V8 keeps in
   * the field itself, where a time since the epoch takes a heap number of its own.
   */
  private readonly storedAfter: number;

  constructor(message: Message, sequence: number, createdAt: number, due: number | undefined, bodyJson: string) {
    super(sequence, message.id, message.topic, bodyJson);
    this.key = message.key;
    this.headers = message.headers;
    this.timestamp = message.timestamp;
    this.due = due;
    this.storedAfter = createdAt - message.timestamp;
  }

  get createdAt(): number {
    return this.timestamp + this.storedAfter;
  }
}

/**
 * A message as `add()` makes it with no options, due at once: its id a UUIDv7 (lower case) whose
 * time is the message's timestamp, its key its topic, no headers. Only `storedAfter` is kept of
 * the rest (a small integer, held in the field itself): 64 bytes instead of 96, and no heap number.
 */
class PlainCompactRecord extends CompactRecord {
  private readonly storedAfter: number;

  constructor(message: Message, sequence: number, createdAt: number, bodyJson: string) {
    super(sequence, message.id, message.topic, bodyJson);
    this.storedAfter = createdAt - message.timestamp;
  }

  get key(): string {
    return this.topic;
  }
  protected get timestamp(): number {
    return idTime(this.id);
  }
  protected get headers(): MessageHeaders {
    return EMPTY_HEADERS;
  }
  protected get due(): undefined {
    return undefined;
  }
  get createdAt(): number {
    return idTime(this.id) + this.storedAfter;
  }
}

/** Below V8's smallest small-integer bound (2^30, with pointer compression): never a heap number. */
const SMALL_INTEGER = 2 ** 30;

/**
 * The time in a lower-case UUIDv7's first 12 hex digits, without checking it is one (see
 * `uuidv7Time()`) and without allocating: read for every claim of a plain compact record.
 */
function idTime(id: string): number {
  let time = 0;
  for (let index = 0; index < 13; index++) {
    if (index === 8) continue;
    const code = id.charCodeAt(index);
    // '0'-'9' are 48-57, 'a'-'f' 97-102.
    time = time * 16 + (code <= 57 ? code - 48 : code - 87);
  }
  return time;
}

/**
 * `message` held compactly, its body as JSON text (see `CompactRecord`), in the smallest form
 * that gives back all of it.
 * @param due - when it is first due (a delayed message), or `undefined` for at once.
 */
export function compactRecord(
  message: Message,
  sequence: number,
  createdAt: number,
  due: number | undefined,
): CompactRecord {
  const bodyJson = JSON.stringify(message.body);
  const storedAfter = createdAt - message.timestamp;
  const plain =
    due === undefined &&
    message.key === message.topic &&
    message.headers === EMPTY_HEADERS &&
    Number.isInteger(storedAfter) &&
    Math.abs(storedAfter) < SMALL_INTEGER &&
    // The id's time read as `idTime()` does: equal only when its digits are lower case.
    uuidv7Time(message.id) === message.timestamp &&
    idTime(message.id) === message.timestamp;
  return plain
    ? new PlainCompactRecord(message, sequence, createdAt, bodyJson)
    : new EnvelopeCompactRecord(message, sequence, createdAt, due, bodyJson);
}

/** A message as `MemoryOutboxStore` holds it: in full, or compact (a backlog). */
export type HeldRecord = OutboxRecord | CompactRecord;
