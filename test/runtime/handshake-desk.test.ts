/**
 * The client's handshake retransmissions against a server that is slow or gone
 * (runtime/handshake.ts), on a fake socket and a fake clock: a real Noise responder answers,
 * when and what the test says.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { respond } from '../../runtime/crypto/noise.ts';
import { DEFAULT_TIMING, HandshakeDesk } from '../../runtime/handshake.ts';
import type { Udp } from '../../runtime/udp.ts';
import { TICKET_SIZE, TOKEN_SIZE, Type } from '../../runtime/wire/constants.ts';
import { decodeOuter, encodeWelcome } from '../../runtime/wire/outer.ts';
import type { Address } from '../../runtime/wire/types.ts';

const SERVER: Address = { family: 4, host: '127.0.0.1', port: 54319 };
const serverKeys = generateKeyPair();
const REQUEST = { kind: 'resume', email: 'a@b.test', ticket: new Uint8Array(TICKET_SIZE), peerKey: new Uint8Array(32), epoch: 0, version: 0 } as const;

/** A socket that records what the client sends, and when (the fake clock's time). */
function fakeUdp() {
  const sent: Array<{ at: number; type: number; bytes: Uint8Array }> = [];
  const udp: Udp = {
    address: { family: 4, host: '127.0.0.1', port: 40000 },
    send: (bytes) => void sent.push({ at: Date.now(), type: bytes[1] ?? -1, bytes: Uint8Array.from(bytes) }),
    onMessage: () => {},
    close: async () => {},
    stats: { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0, sendErrors: 0 },
  };
  return { udp, sent };
}

/** The server's answer to the last HELLO sent: a WELCOME made by the real responder. */
function welcomeFor(hello: Uint8Array) {
  const m = decodeOuter(hello)._unsafeUnwrap();
  if (m.type !== 'HELLO') throw new Error('not a HELLO');
  const r = respond(serverKeys, m.noise, () => new Uint8Array(TOKEN_SIZE).fill(7))._unsafeUnwrap();
  return decodeOuter(encodeWelcome(r.message)._unsafeUnwrap())._unsafeUnwrap();
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] as number));

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('HandshakeDesk retransmissions (runtime/handshake.ts)', () => {
  it('after an attempt that heard nothing, the next one retransmits at the longest interval from the start', async () => {
    const { udp, sent } = fakeUdp();
    const desk = new HandshakeDesk(udp, SERVER);
    const first = desk.authenticate(serverKeys.publicKey, REQUEST);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMING.deadlineMs + 10);
    expect((await first).isErr()).toBe(true);
    const firstGaps = gaps(sent.map((s) => s.at));
    // 250 ms, doubled: jittered ±25 %, so the first gap is under 313 ms
    expect(firstGaps[0]).toBeLessThanOrEqual(DEFAULT_TIMING.rtoMs * 1.25 + 1);

    sent.length = 0;
    const second = desk.authenticate(serverKeys.publicKey, REQUEST);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMING.deadlineMs + 10);
    expect((await second).isErr()).toBe(true);
    const secondGaps = gaps(sent.map((s) => s.at));
    expect(secondGaps.length).toBeGreaterThan(0);
    // every wait is the longest one (2 s ± 25 %): 3–5 HELLOs in 8 s instead of 7
    for (const g of secondGaps) expect(g).toBeGreaterThanOrEqual(DEFAULT_TIMING.maxRtoMs * 0.75 - 1);
    expect(sent.length).toBeLessThanOrEqual(5);
    expect(sent.every((s) => s.type === Type.HELLO)).toBe(true);

    // an answer resets it: the WELCOME came 10 ms after the HELLO, so the AUTH is retransmitted
    // at 250 ms again (the AUTH's first wait follows what the WELCOME took)
    sent.length = 0;
    const third = desk.authenticate(serverKeys.publicKey, REQUEST);
    await vi.advanceTimersByTimeAsync(10);
    expect(desk.deliver(welcomeFor(sent.at(-1)!.bytes))).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    const auths = sent.filter((s) => s.type === Type.AUTH).map((s) => s.at);
    expect(auths.length).toBeGreaterThanOrEqual(3);
    expect((auths[1] as number) - (auths[0] as number)).toBeLessThanOrEqual(DEFAULT_TIMING.rtoMs * 1.25 + 1);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMING.deadlineMs + (DEFAULT_TIMING.authMs ?? 0));
    expect((await third).isErr()).toBe(true);
  });

  it('a WELCOME that comes late still gets its AUTH answered: the AUTH waits past the deadline, and no faster than the WELCOME came', async () => {
    const { udp, sent } = fakeUdp();
    const desk = new HandshakeDesk(udp, SERVER);
    const t0 = Date.now();
    const run = desk.authenticate(serverKeys.publicKey, REQUEST);
    // the server is buried: its WELCOME comes 7.5 s after the first HELLO, 0.5 s before the deadline
    await vi.advanceTimersByTimeAsync(7500);
    const hellos = sent.filter((s) => s.type === Type.HELLO);
    expect(desk.deliver(welcomeFor(hellos.at(-1)!.bytes))).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    const authAt = sent.filter((s) => s.type === Type.AUTH).map((s) => s.at);
    expect(authAt).toHaveLength(1);
    // nobody answers the AUTH: it is retransmitted until 5 s after the WELCOME, past the 8 s deadline
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMING.authMs ?? 0);
    const r = await run;
    expect(r.isErr() && r.error.type).toBe('Unreachable');
    const auths = sent.filter((s) => s.type === Type.AUTH).map((s) => s.at);
    expect(Math.max(...auths) - t0).toBeGreaterThan(DEFAULT_TIMING.deadlineMs);
    // the first retransmission waited about as long as the WELCOME took (capped at 2 s ± 25 %), not 250 ms
    expect((auths[1] as number) - (auths[0] as number)).toBeGreaterThanOrEqual(DEFAULT_TIMING.maxRtoMs * 0.75 - 1);
    expect(auths.length).toBeLessThanOrEqual(4);
  });

  it('a password AUTH is retransmitted every 500 ms at most, so an answer lost after a slow hash has copies left to be answered again', async () => {
    const { udp, sent } = fakeUdp();
    const desk = new HandshakeDesk(udp, SERVER);
    const LOGIN = { kind: 'login', email: 'a@b.test', password: 'correct horse battery', peerKey: new Uint8Array(32) } as const;
    const run = desk.authenticate(serverKeys.publicKey, LOGIN);
    // a slow WELCOME (1.5 s): a resume would wait that long before its first AUTH copy
    await vi.advanceTimersByTimeAsync(1500);
    expect(desk.deliver(welcomeFor(sent.filter((s) => s.type === Type.HELLO).at(-1)!.bytes))).toBe(true);
    // nobody answers: the AUTH is sent until the deadline (8 s after the HELLO)
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMING.deadlineMs);
    const r = await run;
    expect(r.isErr() && r.error.type).toBe('Unreachable');
    const auths = sent.filter((s) => s.type === Type.AUTH).map((s) => s.at);
    const cap = (DEFAULT_TIMING.passwordRtoMs ?? 0) * 1.25 + 1;
    for (const g of gaps(auths)) expect(g).toBeLessThanOrEqual(cap);
    // the server's hash takes ~2 s: after it, at least 5 copies remain before the deadline
    expect(auths.filter((t) => t - (auths[0] as number) > 2000).length).toBeGreaterThanOrEqual(5);
  });
});
