/**
 * fedmsg's canonical JSON (Python `json.dumps(sort_keys=True,
 * separators=(',', ':'))` with its default `ensure_ascii`): keys sorted by
 * code point at every level, no whitespace, every character outside
 * printable ASCII escaped as `\uXXXX` (lowercase hex, astral characters as
 * surrogate pairs), and `\b \f \n \r \t \" \\` as short escapes.
 *
 * Numbers: integral values are written as integers (as Python writes an
 * `int`; a Python `float` such as `1.0` would be written `1.0`), other values
 * as Python's `repr(float)` writes them: the shortest round-trip digits, in
 * fixed notation from 1e-4 to 1e16 and as `1.5e-07` / `1e+16` outside. The
 * signature is computed over these same bytes, so it verifies either way.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return formatNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      return encodeObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`Cannot encode a ${typeof value} as JSON`);
  }
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`Cannot encode ${value} as JSON`);
  if (Number.isInteger(value)) return String(value);
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  // JavaScript and Python agree on fixed notation in this range, not outside it.
  if (exponent >= -4 && exponent < 16) return String(value);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function encodeObject(object: Record<string, unknown>): string {
  const keys = Object.keys(object);
  // The default sort compares UTF-16 code units: right unless a key holds an astral character.
  keys.sort();
  if (keys.some((key) => SURROGATE.test(key))) keys.sort(compareCodePoints);
  let out = '{';
  for (const key of keys) {
    const value = object[key];
    if (value === undefined) continue;
    if (out.length > 1) out += ',';
    out += quote(key);
    out += ':';
    out += canonicalJson(value);
  }
  return `${out}}`;
}

const SURROGATE = /[\ud800-\udfff]/;

// Printable ASCII except `"` and `\`: most strings, written as they are.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT_ESCAPES: Readonly<Partial<Record<number, string>>> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/** A JSON string literal, escaped as Python's `ensure_ascii` does. */
export function quote(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (let index = 0; index < text.length; index++) {
    // UTF-16 code units: an astral character becomes its surrogate pair, as in Python.
    const unit = text.charCodeAt(index);
    const short = SHORT_ESCAPES[unit];
    if (short !== undefined) out += short;
    else if (unit >= 0x20 && unit <= 0x7e) out += text[index];
    else out += `\\u${unit.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** Python sorts str keys by code point; JavaScript's default sort compares UTF-16 code units. */
export function compareCodePoints(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const a = left.charCodeAt(index);
    const b = right.charCodeAt(index);
    if (a === b) continue;
    // Only surrogates (astral characters) order differently from code units.
    if ((a >= 0xd800 && a <= 0xdfff) || (b >= 0xd800 && b <= 0xdfff)) {
      return (left.codePointAt(index) ?? 0) - (right.codePointAt(index) ?? 0);
    }
    return a - b;
  }
  return left.length - right.length;
}
