import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { complete, initiate, respond } from '../../runtime/crypto/noise.ts';
import { Receiver, Sender, clientKeys, createSession, serverKeys } from '../../runtime/crypto/session.ts';

function pair() {
  const server = generateKeyPair();
  const hello = initiate(server.publicKey)._unsafeUnwrap();
  const reply = respond(server, hello.message, () => Buffer.alloc(0))._unsafeUnwrap();
  const done = complete(hello.state, reply.message)._unsafeUnwrap();
  return { client: createSession(clientKeys(done.split)), server: createSession(serverKeys(reply.split)) };
}

/** A stand-in for the 14-byte session header: type | sid | counter. */
function header(type: number, sid: number, counter: bigint): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 1;
  h[1] = type;
  h.writeUInt32BE(sid, 2);
  h.writeBigUInt64BE(counter, 6);
  return h;
}

function send(tx: Sender, type: number, body: string) {
  const counter = tx.take()._unsafeUnwrap();
  const aad = header(type, 7, counter);
  return { counter, aad, sealed: tx.seal(counter, aad, Buffer.from(body)) };
}

describe('session ciphers', () => {
  it('carries datagrams both ways, counting from 1', () => {
    const { client, server } = pair();
    const seis = send(client.tx, 0x11, 'seis');
    expect(seis.counter).toBe(1n);
    expect(Buffer.from(server.rx.open(seis.counter, seis.aad, seis.sealed)._unsafeUnwrap()).toString()).toBe('seis');
    const truco = send(server.tx, 0x10, 'truco');
    expect(truco.counter).toBe(1n);
    expect(Buffer.from(client.rx.open(truco.counter, truco.aad, truco.sealed)._unsafeUnwrap()).toString()).toBe('truco');
  });

  it('drops an exact replay, accepts reordering inside the window', () => {
    const { client, server } = pair();
    const a = send(client.tx, 0x11, 'a');
    const b = send(client.tx, 0x11, 'b');
    const c = send(client.tx, 0x11, 'c');
    expect(server.rx.open(c.counter, c.aad, c.sealed).isOk()).toBe(true);
    expect(server.rx.open(a.counter, a.aad, a.sealed).isOk()).toBe(true);
    expect(server.rx.open(a.counter, a.aad, a.sealed)._unsafeUnwrapErr()).toEqual({ type: 'Replayed' });
    expect(server.rx.open(b.counter, b.aad, b.sealed).isOk()).toBe(true);
    expect(server.rx.highest).toBe(3);
  });

  it('does not let a forged datagram move the window', () => {
    const { client, server } = pair();
    const genuine = send(client.tx, 0x11, 'alive');
    // Forged: a huge counter with random bytes. It fails and must not push genuine counters out.
    const forgedCounter = 1_000_000n;
    expect(server.rx.open(forgedCounter, header(0x11, 7, forgedCounter), Buffer.alloc(40, 3))._unsafeUnwrapErr()).toEqual({
      type: 'DecryptFailed',
    });
    expect(server.rx.highest).toBe(0);
    expect(server.rx.forgeries).toBe(1);
    expect(server.rx.open(genuine.counter, genuine.aad, genuine.sealed).isOk()).toBe(true);
    expect(server.rx.forgeries).toBe(1);
  });

  it('binds the clear header: changing type, sid or counter in it fails', () => {
    const { client, server } = pair();
    const s = send(client.tx, 0x11, 'seis');
    expect(server.rx.open(s.counter, header(0x14, 7, s.counter), s.sealed).isErr()).toBe(true);
    expect(server.rx.open(s.counter, header(0x11, 8, s.counter), s.sealed).isErr()).toBe(true);
    expect(server.rx.open(2n, header(0x11, 7, 2n), s.sealed).isErr()).toBe(true);
    expect(server.rx.open(s.counter, s.aad, s.sealed).isOk()).toBe(true);
  });

  it('separates directions and sessions: no reflection, no cross-session splicing', () => {
    const one = pair();
    const two = pair();
    const s = send(one.client.tx, 0x11, 'seis');
    expect(one.client.rx.open(s.counter, s.aad, s.sealed).isErr()).toBe(true); // reflected back to the sender
    expect(two.server.rx.open(s.counter, s.aad, s.sealed).isErr()).toBe(true); // another session
    expect(one.server.rx.open(s.counter, s.aad, s.sealed).isOk()).toBe(true);
  });

  it('rejects counter 0 (spent on AUTH) and counters past 2^53 - 1', () => {
    const { server } = pair();
    expect(server.rx.open(0n, header(0x11, 7, 0n), Buffer.alloc(20))._unsafeUnwrapErr()).toEqual({ type: 'Replayed' });
    const big = 2n ** 63n;
    expect(server.rx.open(big, header(0x11, 7, big), Buffer.alloc(20))._unsafeUnwrapErr()).toEqual({ type: 'CounterOutOfRange' });
  });

  it('stops sending when the counter is exhausted rather than reusing a nonce', () => {
    const tx = new Sender(Buffer.alloc(32, 1));
    (tx as unknown as { next: number }).next = Number.MAX_SAFE_INTEGER;
    expect(tx.take()._unsafeUnwrap()).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(tx.take()._unsafeUnwrapErr()).toEqual({ type: 'CounterExhausted' });
    expect(() => new Receiver(Buffer.alloc(16))).toThrow(RangeError);
  });
});
