import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cells, teachBlessedEmojiWidth } from '../../ui/screen.ts';
import { clean, cpWidth, fit, pad, strWidth, truncate, wrap } from '../../ui/width.ts';

describe('cell widths', () => {
  it('counts emoji and East Asian characters as two cells, combining marks as none', () => {
    expect(strWidth('olá')).toBe(3);
    expect(strWidth('olá 👋')).toBe(6);
    expect(strWidth('中文')).toBe(4);
    expect(strWidth('e\u0301')).toBe(1);
    expect(cpWidth(0x200d)).toBe(0); // zero width joiner
    expect(cpWidth(0xfe0f)).toBe(0); // variation selector
    expect(cpWidth(0x2615)).toBe(2); // ☕ has emoji presentation
    expect(cpWidth(0x2713)).toBe(1); // ✓
  });

  it('cleans control characters and escape sequences out of text from the network', () => {
    expect(clean('a\x1b[31mred\x07\x00b')).toBe('a[31mredb');
    expect(clean('tab\there')).toBe('tab    here');
    expect(clean('one\r\ntwo\u2028three')).toBe('one\ntwo\nthree');
    expect(clean('lone \ud83d surrogate')).toBe('lone  surrogate');
  });

  it('fits, truncates and pads by cells, never splitting a grapheme', () => {
    expect(fit('👋👋👋', 5)).toBe('👋👋');
    expect(truncate('ana@example.org', 8)).toBe('ana@exa…');
    expect(truncate('short', 8)).toBe('short');
    expect(pad('👋', 4)).toBe('👋  ');
    expect(fit('e\u0301e\u0301', 1)).toBe('e\u0301');
  });

  it('wraps at spaces, breaks long words, keeps explicit newlines', () => {
    expect(wrap('hello world this is a long line', 10)).toEqual(['hello', 'world this', 'is a long', 'line']);
    expect(wrap('aaaaaaaaaaaaaaaaaaaaaaaaa', 10)).toEqual(['aaaaaaaaaa', 'aaaaaaaaaa', 'aaaaa']);
    expect(wrap('a\nb\n\nc', 10)).toEqual(['a', 'b', '', 'c']);
    expect(wrap('👋👋👋', 3)).toEqual(['👋', '👋', '👋']);
  });

  it('wrapped lines never exceed the width and keep every non-space character in order', () => {
    const text = fc.array(fc.constantFrom('a', 'é', ' ', '👋', '中', 'x', 'e\u0301', '\n'), { maxLength: 80 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 2, max: 30 }), (s, w) => {
        const lines = wrap(s, w);
        for (const l of lines) expect(strWidth(l)).toBeLessThanOrEqual(w);
        expect(lines.join('').replace(/\s/g, '')).toBe(s.replace(/\s/g, ''));
      }),
      { numRuns: 300 },
    );
  });
});

describe('terminal cells for blessed', () => {
  it('gives an emoji two cells and keeps combining marks with their base', () => {
    teachBlessedEmojiWidth();
    expect(cells('a👋b')).toEqual([
      { ch: 'a', width: 1 },
      { ch: '👋', width: 2 },
      { ch: 'b', width: 1 },
    ]);
    expect(cells('e\u0301')).toEqual([{ ch: 'e\u0301', width: 1 }]);
    expect(cells('中')).toEqual([{ ch: '中', width: 2 }]);
    expect(cells('a\x07\x1bb')).toEqual([
      { ch: 'a', width: 1 },
      { ch: 'b', width: 1 },
    ]);
    // a ZWJ sequence is drawn as its parts, as terminals without grapheme clustering do
    expect(cells('👨\u200d👩').map((c) => c.width)).toEqual([2, 2]);
  });
});
