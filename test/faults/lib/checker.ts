/**
 * A Jepsen-style checker for chat delivery. The fault suite logs every operation as it
 * happens, on the process where it happens — a send (the sender's client returned an id), an
 * acknowledgement (the sender's line turned delivered), a failure (turned failed), a display
 * (the receiver's conversation gained the inbound line) — and this checks the whole history:
 *
 * - nothing displayed that was not sent, or with other text (no forgery, no corruption);
 * - nothing displayed twice (no duplicate);
 * - per sender → receiver pair, displays in the order of the sends (in order);
 * - every send ends acknowledged or failed; an acknowledged message was displayed (never
 *   silently lost); a failure is shown within `failWithinMs` of the send;
 * - with `mustDeliver`, no failure at all (the 10 % loss scenario promises delivery).
 */

export type ChatOp =
  | { type: 'send'; t: number; from: string; to: string; mid: string; text: string }
  | { type: 'ack'; t: number; from: string; to: string; mid: string }
  | { type: 'fail'; t: number; from: string; to: string; mid: string }
  | { type: 'display'; t: number; from: string; to: string; mid: string; text: string };

export interface CheckOptions {
  /** a failure must be shown within this long after the send (default 10 000 ms) */
  failWithinMs?: number;
  /** scheduling slack added to that bound (default 1000 ms) */
  slackMs?: number;
  /** every message must be acknowledged */
  mustDeliver?: boolean;
}

export interface Anomaly {
  kind: 'phantom' | 'corrupted' | 'duplicate' | 'reordered' | 'lost' | 'unresolved' | 'late-failure' | 'failed';
  mid: string;
  from: string;
  to: string;
  detail: string;
}

export interface CheckResult {
  sent: number;
  acknowledged: number;
  failed: number;
  /** failed at the sender, yet displayed once at the receiver (allowed: the ack was lost) */
  failedButDisplayed: number;
  displayed: number;
  /** send → display, ms */
  latencies: number[];
  /** send → failure shown, ms */
  failAfter: number[];
  anomalies: Anomaly[];
}

export function checkChat(history: readonly ChatOp[], opts: CheckOptions = {}): CheckResult {
  const failWithin = (opts.failWithinMs ?? 10_000) + (opts.slackMs ?? 1000);
  const ops = [...history].sort((a, b) => a.t - b.t);
  const sends = new Map<string, Extract<ChatOp, { type: 'send' }> & { seq: number }>();
  const acks = new Map<string, number>();
  const fails = new Map<string, number>();
  const displays = new Map<string, number[]>();
  const anomalies: Anomaly[] = [];
  const pairSeq = new Map<string, number>();
  const lastShown = new Map<string, { seq: number; mid: string }>();
  const latencies: number[] = [];
  const failAfter: number[] = [];
  const pair = (from: string, to: string) => `${from}\u0000${to}`;
  const key = (from: string, mid: string) => `${from}\u0000${mid}`;

  for (const op of ops) {
    const k = key(op.from, op.mid);
    switch (op.type) {
      case 'send': {
        const p = pair(op.from, op.to);
        const seq = (pairSeq.get(p) ?? 0) + 1;
        pairSeq.set(p, seq);
        sends.set(k, { ...op, seq });
        break;
      }
      case 'ack':
        if (!acks.has(k)) acks.set(k, op.t);
        break;
      case 'fail':
        if (!fails.has(k)) fails.set(k, op.t);
        break;
      case 'display': {
        const s = sends.get(k);
        const seen = displays.get(k) ?? [];
        seen.push(op.t);
        displays.set(k, seen);
        if (!s) {
          // the send is logged when send() returns, the display may come first by a hair
          anomalies.push({ kind: 'phantom', mid: op.mid, from: op.from, to: op.to, detail: 'displayed but never sent (so far)' });
          break;
        }
        if (s.to !== op.to) anomalies.push({ kind: 'phantom', mid: op.mid, from: op.from, to: op.to, detail: `sent to ${s.to}` });
        if (s.text !== op.text) anomalies.push({ kind: 'corrupted', mid: op.mid, from: op.from, to: op.to, detail: 'text differs from what was sent' });
        if (seen.length > 1) {
          anomalies.push({ kind: 'duplicate', mid: op.mid, from: op.from, to: op.to, detail: `displayed ${seen.length} times` });
          break;
        }
        latencies.push(op.t - s.t);
        const p = pair(op.from, op.to);
        const last = lastShown.get(p);
        if (last && last.seq > s.seq) {
          anomalies.push({ kind: 'reordered', mid: op.mid, from: op.from, to: op.to, detail: `#${s.seq} shown after #${last.seq}` });
        }
        if (!last || s.seq > last.seq) lastShown.set(p, { seq: s.seq, mid: op.mid });
        break;
      }
    }
  }

  // a display logged a moment before its send is not a phantom once the send is in the history
  const real = anomalies.filter((a) => !(a.kind === 'phantom' && a.detail.startsWith('displayed but never sent') && sends.has(key(a.from, a.mid))));
  anomalies.length = 0;
  anomalies.push(...real);

  let acknowledged = 0;
  let failed = 0;
  let failedButDisplayed = 0;
  for (const [k, s] of sends) {
    const ack = acks.get(k);
    const fail = fails.get(k);
    const shown = displays.get(k)?.length ?? 0;
    if (ack !== undefined) {
      acknowledged++;
      if (shown === 0) anomalies.push({ kind: 'lost', mid: s.mid, from: s.from, to: s.to, detail: 'acknowledged but never displayed' });
    } else if (fail !== undefined) {
      failed++;
      if (shown > 0) failedButDisplayed++;
      failAfter.push(fail - s.t);
      if (fail - s.t > failWithin) anomalies.push({ kind: 'late-failure', mid: s.mid, from: s.from, to: s.to, detail: `failure shown after ${fail - s.t} ms` });
      if (opts.mustDeliver) anomalies.push({ kind: 'failed', mid: s.mid, from: s.from, to: s.to, detail: `failed after ${fail - s.t} ms${shown ? ' (though displayed)' : ''}` });
    } else {
      anomalies.push({ kind: 'unresolved', mid: s.mid, from: s.from, to: s.to, detail: `neither acknowledged nor failed (displayed ${shown}×)` });
    }
  }
  let displayed = 0;
  for (const v of displays.values()) displayed += Math.min(1, v.length);
  return { sent: sends.size, acknowledged, failed, failedButDisplayed, displayed, latencies, failAfter, anomalies };
}

/** Turns farm events (`sent`, `line`) into checker operations; `emailOf` maps a farm client id to its email. */
export function opsFromEvents(events: ReadonlyArray<{ t: number; ev: string; [k: string]: unknown }>, emailOf: (id: string) => string): ChatOp[] {
  const ops: ChatOp[] = [];
  const outs = new Set<string>();
  for (const e of events) {
    if (e.ev !== 'line' || e.kind !== 'message') continue;
    const me = emailOf(String(e.id));
    // the send is the moment the pending line appeared (inside send(), before it returned)
    const k = `${me}\u0000${String(e.mid)}`;
    if (e.dir === 'out' && !outs.has(k)) {
      outs.add(k);
      ops.push({ type: 'send', t: e.t, from: me, to: String(e.peer), mid: String(e.mid), text: String(e.text) });
    }
    if (e.dir === 'out' && e.state === 'delivered') ops.push({ type: 'ack', t: e.t, from: me, to: String(e.peer), mid: String(e.mid) });
    if (e.dir === 'out' && e.state === 'failed') ops.push({ type: 'fail', t: e.t, from: me, to: String(e.peer), mid: String(e.mid) });
    if (e.dir === 'in') ops.push({ type: 'display', t: e.t, from: String(e.peer), to: me, mid: String(e.mid), text: String(e.text) });
  }
  return ops;
}
