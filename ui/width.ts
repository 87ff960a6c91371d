/**
 * Terminal cell widths, counted per code point the way terminals do (xterm.js with Unicode 11
 * widths, VTE, most others): East Asian wide and emoji-presentation characters take two cells,
 * combining marks and format characters none, everything else one. Text from the network is
 * cleaned first: control characters (escape sequences included) never reach the terminal.
 *
 * Line breaking works on grapheme clusters (Intl.Segmenter) so an accent or a skin tone stays
 * with its base character, and prefers to break at spaces.
 */

const ZERO = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const EMOJI = /^\p{Emoji_Presentation}$/u;

function eastAsianWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    cp === 0x2329 ||
    cp === 0x232a ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) ||
    (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x2fffd) ||
    (cp >= 0x30000 && cp <= 0x3fffd)
  );
}

/** Cells taken by one code point: 0, 1 or 2. */
export function cpWidth(cp: number): 0 | 1 | 2 {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  const ch = String.fromCodePoint(cp);
  if (ZERO.test(ch)) return 0;
  if (eastAsianWide(cp) || EMOJI.test(ch)) return 2;
  return 1;
}

/** Is this a two-cell character because it is an emoji (rather than East Asian wide)? */
export function isWideEmoji(cp: number): boolean {
  return cp >= 0x300 && !eastAsianWide(cp) && EMOJI.test(String.fromCodePoint(cp));
}

export function strWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += cpWidth(ch.codePointAt(0) ?? 0);
  return w;
}

/** Text safe to draw: tabs become spaces, line separators newlines, other controls vanish. */
export function clean(s: string): string {
  return s
    .replace(/\t/g, '    ')
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(/\p{Cs}|[\x00-\x09\x0b-\x1f\x7f-\x9f]/gu, '');
}

/** Same as clean() but on one line: newlines become spaces. */
export function cleanLine(s: string): string {
  return clean(s).replace(/\n/g, ' ');
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function graphemes(s: string): string[] {
  return Array.from(segmenter.segment(s), (g) => g.segment);
}

/** UTF-16 offsets of every grapheme boundary in s, including 0 and s.length. */
export function boundaries(s: string): number[] {
  const out: number[] = [];
  for (const g of segmenter.segment(s)) out.push(g.index);
  out.push(s.length);
  return out;
}

/** The longest prefix of s that fits in `width` cells (whole graphemes). */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  let used = 0;
  let out = '';
  for (const g of graphemes(s)) {
    const w = strWidth(g);
    if (used + w > width) break;
    used += w;
    out += g;
  }
  return out;
}

/** s cut to `width` cells with an ellipsis when it did not fit. */
export function truncate(s: string, width: number): string {
  if (strWidth(s) <= width) return s;
  if (width <= 1) return fit('…', width);
  return fit(s, width - 1) + '…';
}

/** s padded with spaces (or cut) to exactly `width` cells. */
export function pad(s: string, width: number): string {
  const t = strWidth(s) > width ? fit(s, width) : s;
  return t + ' '.repeat(Math.max(0, width - strWidth(t)));
}

/** The last graphemes of s that fit in width cells. */
export function fitEnd(s: string, width: number): string {
  const gs = graphemes(s);
  let used = 0;
  let i = gs.length;
  while (i > 0) {
    const w = strWidth(gs[i - 1] ?? '');
    if (used + w > width) break;
    used += w;
    i--;
  }
  return gs.slice(i).join('');
}

/**
 * Word-wraps s into lines of at most `width` cells. Newlines in s start new lines; a word
 * longer than a line is broken between graphemes; spaces at a break are dropped.
 */
export function wrap(s: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const para of clean(s).split('\n')) {
    let line = '';
    let lineW = 0;
    // tokens: runs of spaces and runs of non-spaces
    for (const token of para.match(/ +|[^ ]+/g) ?? []) {
      const tw = strWidth(token);
      if (token.startsWith(' ')) {
        if (lineW + tw <= w) {
          line += token;
          lineW += tw;
        } else {
          out.push(line);
          line = '';
          lineW = 0;
        }
        continue;
      }
      if (lineW + tw <= w) {
        line += token;
        lineW += tw;
        continue;
      }
      if (tw <= w && lineW > 0) {
        out.push(line.trimEnd());
        line = token;
        lineW = tw;
        continue;
      }
      // too long for any line: break it between graphemes
      for (const g of graphemes(token)) {
        const gw = strWidth(g);
        if (lineW + gw > w && lineW > 0) {
          out.push(line);
          line = '';
          lineW = 0;
        }
        line += g;
        lineW += gw;
      }
    }
    out.push(line.trimEnd());
  }
  return out;
}
