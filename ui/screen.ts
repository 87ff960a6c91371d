/**
 * The blessed side: one box per region of the frame (tabs, conversation, roster, status, input,
 * login, kicked, help), painted cell by cell from the view-model's styled lines, plus keys,
 * mouse and resize turned into plain events. Nothing else writes to the terminal.
 *
 * Wide characters: blessed (0.1.81) counts emoji as one cell while terminals draw two, which
 * shifts the rest of the row. Its width function is taught emoji presentation here, and the
 * painter puts a wide character in one cell followed by a blank that blessed's draw skips —
 * the same scheme blessed uses for CJK — so rows line up in real terminals and in xterm.js.
 */
import { createRequire } from 'node:module';
import blessed from 'blessed';
import type { Key } from './state.ts';
import type { Frame, Line, Region, RegionId, Style } from './view.ts';
import { cpWidth, isWideEmoji } from './width.ts';

interface BlessedUnicode {
  charWidth(str: string | number, i?: number): number;
  codePointAt(str: string, i: number): number;
  combining: Record<number, boolean>;
}

const require = createRequire(import.meta.url);
const unicode = require('blessed/lib/unicode') as BlessedUnicode;

let patched = false;
/** Emoji presentation characters take two cells (as in Unicode 9+ terminals). Idempotent. */
export function teachBlessedEmojiWidth(): void {
  if (patched) return;
  patched = true;
  const original = unicode.charWidth.bind(unicode);
  unicode.charWidth = (str: string | number, i?: number): number => {
    const cp = typeof str === 'number' ? str : unicode.codePointAt(str, i ?? 0);
    if (isWideEmoji(cp)) return 2;
    return original(str, i);
  };
}

export type MouseEvent = { kind: 'click'; x: number; y: number } | { kind: 'wheel'; dir: -1 | 1; x: number; y: number };

export interface ScreenPort {
  cols(): number;
  rows(): number;
  draw(frame: Frame): void;
  bell(): void;
  onKey(fn: (k: Key) => void): void;
  onMouse(fn: (m: MouseEvent) => void): void;
  onResize(fn: () => void): void;
  destroy(): void;
}

type Cell = [number, string];
type Row = Cell[] & { dirty?: boolean };

interface BoxState {
  box: blessed.Widgets.BoxElement;
  region: Region | null;
}

/** Splits text into terminal cells: a base code point with the zero-width ones that follow it. */
export function cells(text: string): { ch: string; width: number }[] {
  const out: { ch: string; width: number }[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    if (unicode.combining[cp] || cpWidth(cp) === 0) {
      const last = out[out.length - 1];
      // a zero-width character blessed would give a cell of its own is dropped
      if (last && unicode.combining[cp]) last.ch += ch;
      continue;
    }
    out.push({ ch, width: unicode.charWidth(cp) === 2 ? 2 : 1 });
  }
  return out;
}

export function createScreen(opts: { title?: string } = {}): ScreenPort {
  teachBlessedEmojiWidth();
  const screen = blessed.screen({
    smartCSR: true,
    fullUnicode: true,
    // UTF-8 even when LANG does not say so (often unset over ssh): blessed would draw ? instead
    forceUnicode: true,
    autoPadding: false,
    warnings: false,
    dockBorders: false,
    title: opts.title ?? 'truco',
  });
  screen.program.hideCursor();
  const boxes = new Map<RegionId, BoxState>();

  function paint(el: blessed.Widgets.BoxElement, region: Region): void {
    const lines = (screen as unknown as { lines: Row[] }).lines;
    const sattr = (s: Style | undefined): number =>
      (el as unknown as { sattr(style: object): number }).sattr({
        fg: s?.fg ?? 'default',
        bg: s?.bg ?? region.style?.bg ?? 'default',
        bold: s?.bold ?? false,
        underline: s?.underline ?? false,
        inverse: s?.inverse ?? false,
      });
    const blank = sattr(region.style);
    const right = Math.min(region.left + region.width, screen.width as number);
    for (let dy = 0; dy < region.height; dy++) {
      const row = lines[region.top + dy];
      if (!row) break;
      const line: Line = region.lines[dy] ?? [];
      let x = region.left;
      for (const seg of line) {
        const attr = sattr(seg.style ?? region.style);
        for (const c of cells(seg.text)) {
          if (x + c.width > right) break;
          set(row, x, attr, c.ch);
          if (c.width === 2) set(row, x + 1, attr, ' ');
          x += c.width;
        }
      }
      for (; x < right; x++) set(row, x, blank, ' ');
    }
  }

  function set(row: Row, x: number, attr: number, ch: string): void {
    const cell = row[x];
    if (!cell) return;
    if (cell[0] !== attr || cell[1] !== ch) {
      cell[0] = attr;
      cell[1] = ch;
      row.dirty = true;
    }
  }

  function boxFor(id: RegionId): BoxState {
    let b = boxes.get(id);
    if (!b) {
      const box = blessed.box({ left: 0, top: 0, width: 1, height: 1, tags: false, wrap: false });
      const state: BoxState = { box, region: null };
      box.on('render', () => {
        if (state.region && !box.hidden) paint(box, state.region);
      });
      screen.append(box);
      b = state;
      boxes.set(id, b);
    }
    return b;
  }

  let lastTitle = '';
  return {
    cols: () => screen.width as number,
    rows: () => screen.height as number,
    draw(frame) {
      const shown = new Set<RegionId>();
      for (const r of frame.regions) {
        const b = boxFor(r.id);
        b.region = r;
        b.box.left = r.left;
        b.box.top = r.top;
        b.box.width = Math.max(1, r.width);
        b.box.height = Math.max(1, r.height);
        b.box.show();
        b.box.setFront();
        shown.add(r.id);
      }
      for (const [id, b] of boxes) {
        if (!shown.has(id)) {
          b.box.hide();
          b.region = null;
        }
      }
      if (frame.title !== lastTitle) {
        lastTitle = frame.title;
        screen.title = frame.title;
      }
      screen.render();
    },
    bell: () => screen.program.bell(),
    onKey(fn) {
      screen.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined) => {
        fn({ name: key?.name, ch: ch ?? undefined, ctrl: key?.ctrl ?? false, meta: key?.meta ?? false, shift: key?.shift ?? false });
      });
    },
    onMouse(fn) {
      screen.enableMouse();
      screen.on('mouse', (data: { action: string; x: number; y: number; button?: string }) => {
        if (data.action === 'mousedown' && (data.button === 'left' || data.button === undefined)) fn({ kind: 'click', x: data.x, y: data.y });
        else if (data.action === 'wheelup') fn({ kind: 'wheel', dir: -1, x: data.x, y: data.y });
        else if (data.action === 'wheeldown') fn({ kind: 'wheel', dir: 1, x: data.x, y: data.y });
      });
    },
    onResize(fn) {
      screen.on('resize', fn);
    },
    destroy() {
      screen.program.showCursor();
      screen.destroy();
    },
  };
}
