/**
 * A one-line text field: the text and a cursor (a UTF-16 offset). Edits move by grapheme, so
 * an emoji, an accented letter or a flag is one step. Keys arrive one UTF-16 unit at a time
 * from blessed, so a surrogate pair is inserted in two steps; the halves meet in place.
 */
import { boundaries } from './width.ts';

export interface Field {
  readonly text: string;
  readonly cursor: number;
}

export const emptyField: Field = { text: '', cursor: 0 };

export const fieldOf = (text: string): Field => ({ text, cursor: text.length });

export function insert(f: Field, s: string): Field {
  return { text: f.text.slice(0, f.cursor) + s + f.text.slice(f.cursor), cursor: f.cursor + s.length };
}

function prevBoundary(text: string, at: number): number {
  let prev = 0;
  for (const b of boundaries(text)) {
    if (b >= at) break;
    prev = b;
  }
  return prev;
}

function nextBoundary(text: string, at: number): number {
  for (const b of boundaries(text)) if (b > at) return b;
  return text.length;
}

export function backspace(f: Field): Field {
  if (f.cursor === 0) return f;
  const p = prevBoundary(f.text, f.cursor);
  return { text: f.text.slice(0, p) + f.text.slice(f.cursor), cursor: p };
}

export function del(f: Field): Field {
  if (f.cursor >= f.text.length) return f;
  const n = nextBoundary(f.text, f.cursor);
  return { text: f.text.slice(0, f.cursor) + f.text.slice(n), cursor: f.cursor };
}

export const left = (f: Field): Field => ({ ...f, cursor: prevBoundary(f.text, f.cursor) });
export const right = (f: Field): Field => ({ ...f, cursor: nextBoundary(f.text, f.cursor) });
export const home = (f: Field): Field => ({ ...f, cursor: 0 });
export const end = (f: Field): Field => ({ ...f, cursor: f.text.length });
export const killToStart = (f: Field): Field => ({ text: f.text.slice(f.cursor), cursor: 0 });
export const killToEnd = (f: Field): Field => ({ text: f.text.slice(0, f.cursor), cursor: f.cursor });

/** Ctrl+W: delete the word before the cursor and the spaces after it. */
export function killWord(f: Field): Field {
  const before = f.text.slice(0, f.cursor);
  const cut = before.replace(/\S*\s*$/u, '');
  return { text: cut + f.text.slice(f.cursor), cursor: cut.length };
}
