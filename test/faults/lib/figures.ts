/**
 * Figures of the fault suite. Each scenario records rows; they are appended as JSON lines to
 * $TRUCO_FIGURES (set by test/faults/run.ts, which prints the table at the end) and echoed to
 * the test's output.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface Figure {
  scenario: string;
  figure: string;
  value: string;
  target?: string;
}

export const FULL = process.env.TRUCO_FULL === '1';

export function record(scenario: string, rows: Array<[figure: string, value: string | number, target?: string]>): void {
  const lines: Figure[] = rows.map(([figure, value, target]) => ({
    scenario,
    figure,
    value: typeof value === 'number' ? fmt(value) : value,
    ...(target !== undefined ? { target } : {}),
  }));
  const file = process.env.TRUCO_FIGURES;
  if (file) appendFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  console.log(table(lines));
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}

export function readFigures(file: string): Figure[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Figure);
  } catch {
    return [];
  }
}

/** A Markdown table (readable in a terminal and pasteable into the README). */
export function table(rows: Figure[]): string {
  const head = ['scenario', 'figure', 'measured', 'target'];
  const body = rows.map((r) => [r.scenario, r.figure, r.value, r.target ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ') + ' |';
  return [line(head), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...body.map(line)].join('\n');
}

/** Percentile of a sorted copy (nearest rank). */
export function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** A text histogram of values in ms with buckets of `bucketMs`. */
export function histogram(values: number[], bucketMs: number): string {
  if (values.length === 0) return '(none)';
  const counts = new Map<number, number>();
  for (const v of values) {
    const b = Math.floor(v / bucketMs) * bucketMs;
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const keys = [...counts.keys()].sort((a, b) => a - b);
  return keys.map((k) => `${String(k).padStart(5)}–${String(k + bucketMs).padEnd(5)} ms ${'#'.repeat(counts.get(k) ?? 0)} ${counts.get(k)}`).join('\n');
}
