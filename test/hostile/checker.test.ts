/** The fault suite's chat-history checker must itself catch every anomaly it claims to. */
import { describe, expect, it } from 'vitest';
import { checkChat, opsFromEvents, type ChatOp } from '../faults/lib/checker.ts';

const A = 'a@x.io';
const B = 'b@x.io';
const send = (t: number, mid: string, text = `text ${mid}`, from = A, to = B): ChatOp => ({ type: 'send', t, from, to, mid, text });
const ack = (t: number, mid: string, from = A, to = B): ChatOp => ({ type: 'ack', t, from, to, mid });
const fail = (t: number, mid: string, from = A, to = B): ChatOp => ({ type: 'fail', t, from, to, mid });
const show = (t: number, mid: string, text = `text ${mid}`, from = A, to = B): ChatOp => ({ type: 'display', t, from, to, mid, text });
const kinds = (h: ChatOp[], o = {}) => checkChat(h, o).anomalies.map((a) => a.kind);

describe('the chat history checker', () => {
  it('accepts a clean history, with failures shown in time and a failed-but-displayed message', () => {
    const h = [send(0, 'm1'), show(5, 'm1'), ack(6, 'm1'), send(10, 'm2'), show(20, 'm2'), fail(9000, 'm2'), send(30, 'm3'), fail(10_030, 'm3')];
    const r = checkChat(h);
    expect(r.anomalies).toEqual([]);
    expect(r).toMatchObject({ sent: 3, acknowledged: 1, failed: 2, failedButDisplayed: 1, displayed: 2 });
    expect(r.latencies).toEqual([5, 10]);
  });

  it('flags a duplicate display', () => expect(kinds([send(0, 'm1'), show(1, 'm1'), show(2, 'm1'), ack(3, 'm1')])).toEqual(['duplicate']));
  it('flags an acknowledged message never displayed (silently lost)', () => expect(kinds([send(0, 'm1'), ack(3, 'm1')])).toEqual(['lost']));
  it('flags a message neither acknowledged nor failed', () => expect(kinds([send(0, 'm1'), show(2, 'm1')])).toEqual(['unresolved']));
  it('flags a failure shown too late', () => expect(kinds([send(0, 'm1'), fail(11_500, 'm1')])).toEqual(['late-failure']));
  it('flags any failure when delivery is promised', () => expect(kinds([send(0, 'm1'), fail(50, 'm1')], { mustDeliver: true })).toEqual(['failed']));
  it('flags displays out of send order, per pair', () => {
    const h = [send(0, 'm1'), send(1, 'm2'), show(5, 'm2'), show(6, 'm1'), ack(7, 'm1'), ack(8, 'm2'), send(2, 'n1', 'x', B, A), show(3, 'n1', 'x', B, A), ack(4, 'n1', B, A)];
    expect(kinds(h)).toEqual(['reordered']);
  });
  it('flags phantom and corrupted displays', () => {
    expect(kinds([show(1, 'zz')])).toEqual(['phantom']);
    expect(kinds([send(0, 'm1'), show(1, 'm1', 'other text'), ack(2, 'm1')])).toEqual(['corrupted']);
    expect(kinds([send(0, 'm1'), show(1, 'm1', 'text m1', A, 'c@x.io'), ack(2, 'm1')])).toContain('phantom');
  });
  it('tolerates a display logged a hair before its send (two processes, one clock)', () => {
    expect(kinds([show(4, 'm1'), send(5, 'm1'), ack(6, 'm1')])).toEqual([]);
  });

  it('reads the farm events: the pending line is the send, delivered/failed the outcome, inbound the display', () => {
    const ev = [
      { t: 1, ev: 'line', id: 'a', peer: B, mid: 'm1', kind: 'message', dir: 'out', text: 'hi', state: 'pending' },
      { t: 2, ev: 'sent', id: 'a', peer: B, mid: 'm1', text: 'hi' },
      { t: 3, ev: 'line', id: 'b', peer: A, mid: 'm1', kind: 'message', dir: 'in', text: 'hi', state: 'delivered' },
      { t: 4, ev: 'line', id: 'a', peer: B, mid: 'm1', kind: 'message', dir: 'out', text: 'hi', state: 'delivered' },
      { t: 5, ev: 'line', id: 'a', peer: B, mid: 's1', kind: 'system', event: 'disconnected' },
    ];
    const ops = opsFromEvents(ev, (id) => (id === 'a' ? A : B));
    expect(ops.map((o) => o.type)).toEqual(['send', 'display', 'ack']);
    expect(checkChat(ops).anomalies).toEqual([]);
  });
});
