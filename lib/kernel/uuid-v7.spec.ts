import { uuidv7, uuidv7Time } from './uuid-v7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('makes RFC 9562 version 7 ids whose time parses back', () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
    const id = uuidv7(now);
    expect(id).toMatch(V7);
    expect(uuidv7Time(id)).toBe(now);
  });

  it('is strictly increasing as strings within one ms, across ms, and when the clock steps back', () => {
    const t = Date.UTC(2030, 0, 1);
    const ids = [
      ...Array.from({ length: 10_000 }, () => uuidv7(t)),
      ...Array.from({ length: 100 }, (_, i) => uuidv7(t + 1 + i)),
      // A clock stepping back keeps the order (the earlier time is not used).
      ...Array.from({ length: 100 }, () => uuidv7(t - 5000)),
    ];
    let increasing = 0;
    for (let i = 1; i < ids.length; i++) if ((ids[i] ?? '') > (ids[i - 1] ?? '')) increasing++;
    expect(increasing).toBe(ids.length - 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !V7.test(id))).toEqual([]);
  });

  it('tells other ids apart', () => {
    expect(uuidv7Time('4f7a8d9e-0c1b-4a2d-9e3f-5a6b7c8d9e0f')).toBeUndefined();
    expect(uuidv7Time('order-42')).toBeUndefined();
  });
});
