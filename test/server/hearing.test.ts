import { describe, expect, it } from 'vitest';
import { createHearing } from '../../server/hearing.ts';

describe('hearing (server/hearing.ts)', () => {
  it('is deaf only when most answers of this round and the last were late', () => {
    const h = createHearing(8);
    for (let i = 0; i < 10; i++) h.answer(false);
    expect(h.deaf).toBe(false);
    h.round();
    for (let i = 0; i < 9; i++) h.answer(true);
    expect(h.deaf).toBe(false); // 9 late of 19
    h.answer(true);
    h.answer(true);
    expect(h.deaf).toBe(true); // 11 late of 21
    h.round();
    h.round();
    expect(h.deaf).toBe(false); // nothing heard: nothing late either
  });

  it('needs a few answers before it can tell', () => {
    const h = createHearing(8);
    for (let i = 0; i < 7; i++) h.answer(true);
    expect(h.deaf).toBe(false);
    h.answer(true);
    expect(h.deaf).toBe(true);
  });
});
