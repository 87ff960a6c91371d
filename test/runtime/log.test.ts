import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/log.ts';

/** a stream that records each write(2)-like call */
function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  return { stream, writes };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('structured log (runtime/log.ts)', () => {
  it('writes the lines of one turn of the event loop in one write, in order, at the end of the turn', async () => {
    const { stream, writes } = recorder();
    const log = createLogger({ stream, base: { proc: 't' } });
    for (let i = 0; i < 100; i++) log.info('session.opened', { n: i });
    log.debug('not shown');
    expect(writes).toHaveLength(0);
    await turn();
    expect(writes).toHaveLength(1);
    const lines = writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string; n: number; proc: string });
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(lines.every((l) => l.proc === 't' && l.event === 'session.opened')).toBe(true);
    log.warn('later');
    await turn();
    expect(writes).toHaveLength(2);
  });

  it('writes at 64 KB without waiting for the turn to end, and everything left at close', async () => {
    const { stream, writes } = recorder();
    const log = createLogger({ stream });
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 70; i++) log.info('bulk', { big });
    expect(writes.length).toBe(1);
    log.error('last', { password: 'hunter2 hunter2' });
    await log.close();
    expect(writes.length).toBe(2);
    expect(writes.join('')).toContain('"event":"last"');
    // a secret field is still redacted
    expect(writes.join('')).not.toContain('hunter2');
  });
});
