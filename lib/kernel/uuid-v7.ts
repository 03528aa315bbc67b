import { randomFillSync } from 'node:crypto';

/*
 * UUID version 7 (RFC 9562, section 5.7): 48 bits of Unix time in ms, then the version (7),
 * 12 bits, the variant (10), 62 bits. Node's crypto.randomUUID() makes version 4 only.
 *
 * Monotonic within a process (RFC 9562 section 6.2, method 1, "fixed bit-length dedicated
 * counter"): the 12 bits after the version and the first 18 bits after the variant form a
 * 30-bit counter, seeded at random (its top bit clear, leaving room to count) every
 * millisecond and incremented for each further id in the same millisecond. Should the counter
 * overflow, or the clock step back, the timestamp is carried forward by one ms instead, so
 * every id is greater than the previous one, compared as strings or as bytes.
 */

const COUNTER_BITS = 30;
const COUNTER_MAX = 2 ** COUNTER_BITS - 1;
const POOL_SIZE = 4096;

const pool = Buffer.allocUnsafe(POOL_SIZE);
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
const text = Buffer.alloc(36);
let poolOffset = POOL_SIZE;
let lastMs = -1;
let counter = 0;

/** The offset in `pool` of `length` fresh random bytes (refilled when used up). No view is allocated: ids are made per message. */
function randomOffset(length: number): number {
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += length;
  return offset;
}

/** Writes `byte` as two lower-case hex digits at `at` in `text`; returns the next position. */
function writeHex(at: number, byte: number): number {
  text[at] = HEX_DIGITS[byte >> 4] ?? 0;
  text[at + 1] = HEX_DIGITS[byte & 0x0f] ?? 0;
  return at + 2;
}

/**
 * A new UUIDv7 string (lower-case, `xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx`), time-ordered: ids
 * made later by this process sort after earlier ones, as strings.
 *
 * @param now the time to embed, in ms since the epoch. Default: `Date.now()`. Earlier than the
 *   previous id's time (a clock stepping back), the previous time is used.
 */
export function uuidv7(now: number = Date.now()): string {
  const random = randomOffset(10);
  let ms = Math.floor(now);
  if (ms > lastMs) {
    lastMs = ms;
    // Seeded with its top bit clear: at least 2^29 ids fit in one ms before it carries.
    counter =
      ((pool[random] ?? 0) & 0x1f) * 2 ** 24 +
      (pool[random + 1] ?? 0) * 2 ** 16 +
      (pool[random + 2] ?? 0) * 2 ** 8 +
      (pool[random + 3] ?? 0);
  } else if (counter < COUNTER_MAX) {
    ms = lastMs;
    counter++;
  } else {
    ms = ++lastMs;
    counter = 0;
  }
  // Written as ASCII into one buffer, then read as one flat string: slicing and joining a hex
  // string leaves a tree of string pieces behind, which the outbox would keep per pending message.
  // 48 bits of time, big-endian: the top 16 bits, then the low 32.
  const msHigh = Math.floor(ms / 2 ** 32);
  const msLow = ms % 2 ** 32;
  let at = writeHex(0, (msHigh >> 8) & 0xff);
  at = writeHex(at, msHigh & 0xff);
  at = writeHex(at, Math.floor(msLow / 2 ** 24));
  at = writeHex(at, (msLow >>> 16) & 0xff);
  text[at++] = DASH;
  at = writeHex(at, (msLow >>> 8) & 0xff);
  at = writeHex(at, msLow & 0xff);
  text[at++] = DASH;
  // Version 7 and the counter's top 12 bits.
  const high = Math.floor(counter / 2 ** 18);
  at = writeHex(at, 0x70 | (high >> 8));
  at = writeHex(at, high & 0xff);
  text[at++] = DASH;
  // Variant 10 and the counter's low 18 bits, then 48 random bits.
  const low = counter % 2 ** 18;
  at = writeHex(at, 0x80 | (low >> 12));
  at = writeHex(at, (low >> 4) & 0xff);
  text[at++] = DASH;
  at = writeHex(at, ((low & 0x0f) << 4) | ((pool[random + 4] ?? 0) & 0x0f));
  for (let index = 5; index < 10; index++) at = writeHex(at, pool[random + index] ?? 0);
  return text.toString('latin1', 0, 36);
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The time embedded in a UUIDv7, in ms since the epoch; `undefined` when `id` is not a UUIDv7
 * (another version, a caller-supplied id).
 */
export function uuidv7Time(id: string): number | undefined {
  const lower = id.toLowerCase();
  if (!UUID_V7.test(lower)) return undefined;
  return parseInt(lower.slice(0, 8) + lower.slice(9, 13), 16);
}
