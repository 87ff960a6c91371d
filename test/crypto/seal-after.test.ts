/**
 * Sealing a datagram in place (one buffer: header ‖ ciphertext ‖ tag) gives exactly the bytes of
 * the header, the sealed part and their concatenation, for session and peer datagrams, whatever
 * the counter (above 2^32 too), and the receiver opens them.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as aead from '../../runtime/crypto/aead.ts';
import { createSession } from '../../runtime/crypto/session.ts';
import { sealAfter } from '../../runtime/crypto/sodium.ts';
import { PEER_HEADER_SIZE, SESSION_HEADER_SIZE, Type } from '../../runtime/wire/constants.ts';
import { decodeOuter } from '../../runtime/wire/outer.ts';
import { encodePeerHeader, peerDatagram } from '../../runtime/wire/peer.ts';
import { encodeSessionHeader, sessionDatagram } from '../../runtime/wire/session.ts';

const key = randomBytes(32);

describe('sealing in place (sealAfter, sessionDatagram, peerDatagram)', () => {
  it('session datagrams: the same bytes as header, seal and concat, and they open', () => {
    for (const counter of [1, 2, 255, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12_345, Number.MAX_SAFE_INTEGER]) {
      for (const size of [0, 1, 12, 300]) {
        const body = randomBytes(size);
        const header = encodeSessionHeader(Type.SEIS, 0xdeadbeef, BigInt(counter));
        const expected = Buffer.concat([header, aead.seal(key, counter, header, body)]);
        const out = sessionDatagram(Type.SEIS, 0xdeadbeef, counter, size);
        sealAfter(key, counter, out, SESSION_HEADER_SIZE, body);
        expect(out.equals(expected), `counter ${counter}, ${size} bytes`).toBe(true);
      }
    }
  });

  it('peer datagrams: the same bytes as header, seal and concat', () => {
    const keyId = randomBytes(8);
    for (const counter of [1, 70_000, 2 ** 33 + 7]) {
      const body = randomBytes(40);
      const header = encodePeerHeader(Type.CHAT, keyId, BigInt(counter));
      const expected = Buffer.concat([header, aead.seal(key, counter, header, body)]);
      const out = peerDatagram(Type.CHAT, keyId, counter, body.length);
      sealAfter(key, counter, out, PEER_HEADER_SIZE, body);
      expect(out.equals(expected)).toBe(true);
    }
  });

  it('a Sender seals in place under its next counter; the Receiver opens it, once', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = createSession({ send: k1, recv: k2 });
    const b = createSession({ send: k2, recv: k1 });
    for (let i = 0; i < 3; i++) {
      const counter = a.tx.takeNumber();
      expect(counter).toBe(i + 1);
      const body = Buffer.from(`seis ${i}`);
      const out = sessionDatagram(Type.SEIS, 7, counter, body.length);
      a.tx.sealAfter(counter, out, SESSION_HEADER_SIZE, body);
      const d = decodeOuter(out);
      expect(d.isOk()).toBe(true);
      if (!d.isOk() || d.value.type !== 'SESSION') throw new Error('not a session datagram');
      const opened = b.rx.open(d.value.counter, d.value.aad, d.value.sealed);
      expect(opened.isOk() && Buffer.from(opened.value).equals(body)).toBe(true);
      expect(b.rx.open(d.value.counter, d.value.aad, d.value.sealed).isErr()).toBe(true);
    }
  });

  it('refuses a buffer of the wrong length rather than writing past it', () => {
    const out = Buffer.alloc(SESSION_HEADER_SIZE + 4);
    expect(() => sealAfter(key, 1, out, SESSION_HEADER_SIZE, Buffer.alloc(8))).toThrow(RangeError);
  });
});
