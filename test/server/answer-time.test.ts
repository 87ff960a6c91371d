import { describe, expect, it } from 'vitest';
import { createAnswerTime } from '../../server/answer-time.ts';

describe('answer time (how soon a presence push is repeated)', () => {
  it('stays at the floor while clients answer fast, and before any answer', () => {
    const a = createAnswerTime(100, 500);
    expect(a.wait()).toBe(100);
    for (let i = 0; i < 1000; i++) a.note(2 + (i % 5));
    expect(a.wait()).toBe(100);
  });

  it('follows slow answers up, never past the ceiling, and comes back down when they are fast again', () => {
    const a = createAnswerTime(100, 500);
    for (let i = 0; i < 200; i++) a.note(60 + (i % 2) * 40); // 60 / 100 ms, alternating
    const slow = a.wait();
    expect(slow).toBeGreaterThan(100);
    expect(slow).toBeLessThan(500);
    for (let i = 0; i < 200; i++) a.note(900);
    expect(a.wait()).toBe(500);
    for (let i = 0; i < 200; i++) a.note(3);
    expect(a.wait()).toBe(100);
  });

  it('ignores readings that are not times', () => {
    const a = createAnswerTime(100, 500);
    for (const bad of [NaN, -5, Infinity]) a.note(bad);
    expect(a.wait()).toBe(100);
    a.note(300);
    expect(a.wait()).toBe(500);
  });
});
