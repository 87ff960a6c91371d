import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAck, encodeAck } from '../../runtime/wire/ack.ts';
import { decodeChat, encodeChat } from '../../runtime/wire/chat.ts';
import {
  ACK_SIZE,
  CHAT_HEADER_SIZE,
  MAX_DATAGRAM,
  MAX_FRAGMENT,
  MAX_FRAGMENTS,
  MAX_MESSAGE_BYTES,
  MAX_PEER_BODY,
  PEER_HEADER_SIZE,
  TAG_SIZE,
  Type,
} from '../../runtime/wire/constants.ts';
import { decodeOuter } from '../../runtime/wire/outer.ts';
import { decodePeer, decodePeerBody, encodePeer, encodePeerBody, encodePeerHeader } from '../../runtime/wire/peer.ts';
import type { AckFrame, ChatFrame } from '../../runtime/wire/types.ts';
import { u32, u64 } from './arb.ts';

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

const chatFrame: fc.Arbitrary<ChatFrame> = fc
  .record({
    seq: u32,
    back: u32,
    messageId: bytes(8, 8),
    count: fc.integer({ min: 1, max: MAX_FRAGMENTS }),
    at: fc.nat(),
    payload: bytes(1, MAX_FRAGMENT),
  })
  .map(({ seq, back, messageId, count, at, payload }) => ({
    type: 'CHAT' as const,
    seq,
    floor: Math.max(0, seq - back),
    messageId,
    index: at % count,
    count,
    payload,
  }));

const ackFrame: fc.Arbitrary<AckFrame> = fc
  .record({ cum: u32, sack: u64, floor: u32 })
  .map(({ cum, sack, floor }) => ({ type: 'ACK' as const, cum, sack, floor }));

const frame = (f: Partial<ChatFrame> = {}): ChatFrame => ({
  type: 'CHAT',
  seq: 10,
  floor: 5,
  messageId: new Uint8Array(8).fill(7),
  index: 0,
  count: 1,
  payload: Uint8Array.of(104, 105),
  ...f,
});

describe('CHAT and ACK bodies', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(chatFrame, (f) => {
        const wire = encodeChat(f)._unsafeUnwrap();
        expect(wire.length).toBe(CHAT_HEADER_SIZE + f.payload.length);
        expect(wire.length).toBeLessThanOrEqual(MAX_PEER_BODY);
        expect(decodeChat(wire)._unsafeUnwrap()).toEqual(f);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(ackFrame, (f) => {
        const wire = encodeAck(f)._unsafeUnwrap();
        expect(wire.length).toBe(ACK_SIZE);
        expect(decodeAck(wire)._unsafeUnwrap()).toEqual(f);
      }),
      { numRuns: 500 },
    );
  });

  it('have the sizes of the spec: a full fragment fills a 1200-byte datagram exactly', () => {
    expect(PEER_HEADER_SIZE).toBe(18);
    expect(MAX_PEER_BODY).toBe(1166);
    expect(MAX_FRAGMENT).toBe(1148);
    expect(MAX_FRAGMENTS).toBe(58);
    expect(MAX_MESSAGE_BYTES).toBe(65536);
    const full = encodeChat(frame({ payload: new Uint8Array(MAX_FRAGMENT) }))._unsafeUnwrap();
    expect(PEER_HEADER_SIZE + full.length + TAG_SIZE).toBe(MAX_DATAGRAM);
    expect(encodeAck({ type: 'ACK', cum: 0x01020304, sack: 5n, floor: 9 })._unsafeUnwrap()).toEqual(
      Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 9),
    );
  });

  it('refuse out-of-bounds fields on both sides', () => {
    const bad: Array<[string, Partial<ChatFrame>]> = [
      ['empty payload', { payload: new Uint8Array(0) }],
      ['payload too long', { payload: new Uint8Array(MAX_FRAGMENT + 1) }],
      ['zero count', { count: 0, index: 0 }],
      ['too many fragments', { count: MAX_FRAGMENTS + 1 }],
      ['index past count', { index: 2, count: 2 }],
      ['floor above seq', { seq: 4, floor: 5 }],
      ['short message id', { messageId: new Uint8Array(7) }],
    ];
    for (const [what, f] of bad) {
      expect(encodeChat(frame(f)).isErr(), what).toBe(true);
    }
    // Decoding the same faults from raw bytes: build a good body and corrupt one field.
    const good = encodeChat(frame({ count: 3, index: 1 }))._unsafeUnwrap();
    const corrupt = (at: number, value: number) => {
      const b = Uint8Array.from(good);
      b[at] = value;
      return decodeChat(b);
    };
    expect(corrupt(17, 0)._unsafeUnwrapErr().reason).toBe('field'); // count 0
    expect(corrupt(17, MAX_FRAGMENTS + 1)._unsafeUnwrapErr().reason).toBe('field');
    expect(corrupt(16, 3)._unsafeUnwrapErr().reason).toBe('field'); // index = count
    expect(corrupt(7, 11)._unsafeUnwrapErr().reason).toBe('field'); // floor 11 > seq 10
    expect(decodeChat(good.subarray(0, CHAT_HEADER_SIZE))._unsafeUnwrapErr().reason).toBe('field'); // no payload
    expect(decodeChat(good.subarray(0, 10))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeChat(new Uint8Array(MAX_PEER_BODY + 1))._unsafeUnwrapErr().reason).toBe('oversize');
    expect(decodeAck(new Uint8Array(ACK_SIZE - 1))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeAck(new Uint8Array(ACK_SIZE + 1))._unsafeUnwrapErr().reason).toBe('trailing');
  });

  it('never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytes(0, 1300), fc.constantFrom(Type.CHAT, Type.ACK, 0x10, 0x99), (b, code) => {
        const results = [decodeChat(b), decodeAck(b), decodePeerBody(code, b), decodeOuter(b)];
        for (const r of results) expect(r.isOk() || r.isErr()).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('peer datagrams', () => {
  it('round-trip through decodeOuter with the 18-byte header as associated data', () => {
    fc.assert(
      fc.property(fc.constantFrom(Type.CHAT, Type.ACK), bytes(8, 8), u64, bytes(16, MAX_DATAGRAM - PEER_HEADER_SIZE), (code, keyId, counter, sealed) => {
        const wire = encodePeer(code, keyId, counter, sealed)._unsafeUnwrap();
        expect(wire.length).toBeLessThanOrEqual(MAX_DATAGRAM);
        const d = decodeOuter(wire)._unsafeUnwrap();
        expect(d).toEqual({ type: 'PEER', code, keyId, counter, sealed, aad: encodePeerHeader(code, keyId, counter) });
        expect(decodePeer(wire)._unsafeUnwrap().aad).toEqual(wire.subarray(0, PEER_HEADER_SIZE));
      }),
      { numRuns: 1000 },
    );
  });

  it('reject short, oversize and non-peer datagrams', () => {
    const wire = encodePeer(Type.CHAT, new Uint8Array(8), 1n, new Uint8Array(16))._unsafeUnwrap();
    for (let n = 0; n < wire.length; n++) expect(decodePeer(wire.subarray(0, n)).isErr()).toBe(true);
    expect(decodeOuter(wire.subarray(0, PEER_HEADER_SIZE + TAG_SIZE - 1))._unsafeUnwrapErr().reason).toBe('truncated');
    const big = new Uint8Array(MAX_DATAGRAM + 1);
    big[0] = 1;
    big[1] = Type.CHAT;
    expect(decodeOuter(big)._unsafeUnwrapErr().reason).toBe('oversize');
    expect(encodePeer(Type.TRUCO, new Uint8Array(8), 1n, new Uint8Array(16))._unsafeUnwrapErr().reason).toBe('type');
    expect(encodePeer(Type.CHAT, new Uint8Array(8), 1n, new Uint8Array(15)).isErr()).toBe(true);
    expect(encodePeer(Type.CHAT, new Uint8Array(8), 1n, new Uint8Array(MAX_DATAGRAM))._unsafeUnwrapErr().reason).toBe('oversize');
    expect(decodePeerBody(Type.TRUCO, new Uint8Array(12))._unsafeUnwrapErr().reason).toBe('type');
  });

  it('encodePeerBody picks the type code of the frame', () => {
    const chat = encodePeerBody(frame())._unsafeUnwrap();
    expect(chat.code).toBe(Type.CHAT);
    expect(decodePeerBody(chat.code, chat.bytes)._unsafeUnwrap()).toEqual(frame());
    const ack = encodePeerBody({ type: 'ACK', cum: 3, sack: 1n, floor: 2 })._unsafeUnwrap();
    expect(ack.code).toBe(Type.ACK);
    expect(decodePeerBody(ack.code, ack.bytes)._unsafeUnwrap()).toEqual({ type: 'ACK', cum: 3, sack: 1n, floor: 2 });
  });
});
