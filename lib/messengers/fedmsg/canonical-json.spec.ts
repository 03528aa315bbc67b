import { execFileSync } from 'node:child_process';
import { canonicalJson, compareCodePoints } from './canonical-json.js';

/** Python's own encoder, as fedmsg.encoding.dumps configures it: the reference we must match byte for byte. */
function pythonDumps(values: readonly unknown[]): string[] {
  const script =
    'import json, sys\n' +
    'for line in sys.stdin:\n' +
    "    print(json.dumps(json.loads(line), sort_keys=True, separators=(',', ':')))\n";
  const input = values.map((value) => JSON.stringify(value)).join('\n') + '\n';
  return execFileSync('/usr/bin/python3', ['-c', script], { input, encoding: 'utf8' }).trimEnd().split('\n');
}

const TRICKY_BODIES: readonly [string, unknown][] = [
  ['nested key order', { b: { z: 1, a: [{ y: 2, x: 1 }] }, a: null, A: true, _: false, '10': 1, '9': 2 }],
  ['non-ASCII', { name: 'Jiří Přibyl', city: 'Brno – Žabovřesky', yen: '¥', nbsp: '\u00a0' }],
  ['astral characters', { emoji: 'ship it 🚢', math: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '🚢': 'key', 'a\uffff': 1, 'a😀': 2 }],
  ['control characters', { text: 'tab\there\nnew\rline\bback\fform\u0000nul\u001f\u007fdel' }],
  ['quotes, backslash and slash', { path: 'C:\\dir\\"quoted"', url: 'https://pdc.example.com/rest_api/v1/releases/' }],
  ['integers', { zero: 0, negative: -42, big: 9007199254740991, list: [1, 2, 3] }],
  [
    'non-integral floats',
    { half: 0.5, pi: 3.141592653589793, tiny: 1e-7, small: 1.2345e-5, edge: 0.0001, big: 123456789.125, neg: -2.25 },
  ],
  ['empty containers', { object: {}, array: [], string: '' }],
];

describe('canonicalJson', () => {
  it.each(TRICKY_BODIES)('matches Python byte for byte: %s', (_name, body) => {
    expect(canonicalJson(body)).toBe(pythonDumps([body])[0]);
  });

  it('writes integral numbers as integers (a Python float 1.0 would be written 1.0)', () => {
    expect(canonicalJson({ ratio: 1.0, large: 1e21, huge: 1.5e300 })).toBe('{"huge":1.5e+300,"large":1e+21,"ratio":1}');
  });

  it('escapes exactly what lies outside printable ASCII, with lowercase hex', () => {
    expect(canonicalJson('é\u007f~ \u2028😀')).toBe('"\\u00e9\\u007f~ \\u2028\\ud83d\\ude00"');
  });

  it('omits undefined properties and refuses what JSON cannot hold', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow('Cannot encode NaN');
    expect(() => canonicalJson({ f: () => 1 })).toThrow('Cannot encode a function');
  });

  it('sorts keys by code point, not UTF-16 code unit', () => {
    // U+FFFF sorts before U+1F600 by code point, after it by code unit.
    expect(['a😀', 'a\uffff'].sort(compareCodePoints)).toEqual(['a\uffff', 'a😀']);
    expect(['b', 'a', 'ab', ''].sort(compareCodePoints)).toEqual(['', 'a', 'ab', 'b']);
  });
});
