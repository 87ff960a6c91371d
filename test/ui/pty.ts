/**
 * Runs the real terminal client in a pseudo-terminal (node-pty) and renders what it writes with
 * a headless xterm.js (Unicode 11 widths, like a current terminal), so a test reads the screen
 * as a person would see it and types keys as a person would.
 */
import { join } from 'node:path';
import xtermHeadless from '@xterm/headless';
import unicode11 from '@xterm/addon-unicode11';
import pty from 'node-pty';
import { ROOT } from '../support/server.ts';

const { Terminal } = xtermHeadless;
const { Unicode11Addon } = unicode11;

export const KEYS = {
  enter: '\r',
  tab: '\t',
  shiftTab: '\x1b[Z',
  esc: '\x1b',
  up: '\x1b[A',
  down: '\x1b[B',
  pageUp: '\x1b[5~',
  pageDown: '\x1b[6~',
  f1: '\x1bOP',
  ctrlC: '\x03',
  ctrlN: '\x0e',
  ctrlP: '\x10',
  ctrlR: '\x12',
  backspace: '\x7f',
  alt: (c: string) => '\x1b' + c,
} as const;

export interface TermOptions {
  args: string[];
  cols?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  name?: string;
}

export class Term {
  readonly name: string;
  readonly proc: pty.IPty;
  readonly term: InstanceType<typeof Terminal>;
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  private raw = '';

  constructor(o: TermOptions) {
    this.name = o.name ?? 'client';
    const cols = o.cols ?? 100;
    const rows = o.rows ?? 30;
    this.term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = '11';
    this.proc = pty.spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'ui/main.ts'), ...o.args], {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: ROOT,
      env: { ...process.env, TERM: 'xterm-256color', LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '', ...o.env } as Record<string, string>,
    });
    this.proc.onData((d) => {
      this.raw += d;
      if (this.raw.length > 200_000) this.raw = this.raw.slice(-100_000);
      this.term.write(d);
    });
    this.exited = new Promise((resolve) =>
      this.proc.onExit(({ exitCode }) => {
        this.exitCode = exitCode;
        resolve(exitCode);
      }),
    );
  }

  /** What the terminal shows, one string per row (right-trimmed). */
  lines(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** The screen framed, for failure messages. */
  dump(): string {
    const w = this.term.cols;
    return [`── ${this.name} (${w}×${this.term.rows}) ` + '─'.repeat(Math.max(0, w - this.name.length - 12)), ...this.lines().map((l) => '│' + l), '─'.repeat(w + 1)].join('\n');
  }

  /** Flushes xterm's parser so lines() reflects everything received. */
  private flush(): Promise<void> {
    return new Promise((r) => this.term.write('', r));
  }

  /** Polls until the screen satisfies `pred`; on timeout throws with the screen in the message. */
  async waitFor(pred: string | RegExp | ((text: string, lines: string[]) => boolean), timeoutMs = 15_000, what?: string): Promise<string> {
    const test = typeof pred === 'string' ? (t: string) => t.includes(pred) : pred instanceof RegExp ? (t: string) => pred.test(t) : pred;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.flush();
      const lines = this.lines();
      const text = lines.join('\n');
      if (test(text, lines)) return text;
      if (this.exitCode !== null) throw new Error(`${this.name} exited (${this.exitCode}) while waiting for ${what ?? String(pred)}\n${this.dump()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out waiting for ${what ?? String(pred)}\n${this.dump()}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  /** Waits until the screen stops changing for `quietMs`. */
  async settle(quietMs = 150, timeoutMs = 5000): Promise<void> {
    let last = '';
    let since = Date.now();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.flush();
      const now = this.text();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  write(s: string): void {
    this.proc.write(s);
  }

  /** Types text one key at a time, as a person does. */
  async type(s: string): Promise<void> {
    for (const ch of s) {
      this.proc.write(ch);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  resize(cols: number, rows: number): void {
    this.proc.resize(cols, rows);
    this.term.resize(cols, rows);
  }

  kill(signal = 'SIGKILL'): Promise<number> {
    if (this.exitCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/** Screen text: does a row contain all of these, in order? */
export const rowWith = (lines: string[], ...parts: string[]): string | undefined =>
  lines.find((l) => {
    let at = 0;
    for (const p of parts) {
      const i = l.indexOf(p, at);
      if (i < 0) return false;
      at = i + p.length;
    }
    return true;
  });
