import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAck } from '../../runtime/wire/ack.ts';
import { BUNDLE_FRAME_HEADER, bundleSize, decodeBundle, encodeBundle, packFrames, runBody, type EncodedFrame } from '../../runtime/wire/bundle.ts';
import { encodeChat } from '../../runtime/wire/chat.ts';
import { MAX_FRAGMENT, MAX_PEER_BODY, Type } from '../../runtime/wire/constants.ts';
import { decodePeerBody } from '../../runtime/wire/peer.ts';

const chat = (seq: number, payload: number): EncodedFrame => ({
  code: Type.CHAT,
  bytes: encodeChat({ type: 'CHAT', seq, floor: 0, messageId: new Uint8Array(8).fill(seq & 0xff), index: 0, count: 1, payload: new Uint8Array(payload).fill(0x61) })._unsafeUnwrap(),
});
const ack = (cum: number): EncodedFrame => ({ code: Type.ACK, bytes: encodeAck({ type: 'ACK', cum, sack: 0n, floor: 0 })._unsafeUnwrap() });

describe('BUNDLE body', () => {
  it('round-trips any run of CHAT and ACK frames that fits, in order', () => {
    const frame = fc.oneof(
      fc.tuple(fc.nat({ max: 1000 }), fc.integer({ min: 1, max: 300 })).map(([s, n]) => chat(s, n)),
      fc.nat({ max: 1000 }).map(ack),
    );
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 12 }), (frames) => {
        fc.pre(bundleSize(frames) <= MAX_PEER_BODY);
        const bytes = encodeBundle(frames)._unsafeUnwrap();
        expect(bytes.length).toBe(bundleSize(frames));
        const back = decodeBundle(bytes)._unsafeUnwrap();
        expect(back.map((f) => f.code)).toEqual(frames.map((f) => f.code));
        expect(back.map((f) => Buffer.from(f.bytes).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f.bytes).toString('hex')));
        for (const f of back) expect(decodePeerBody(f.code, f.bytes).isOk()).toBe(true);
      }),
    );
  });

  it('refuses, without throwing, an empty bundle, a frame of another type, a zero-length or cut frame, and more than one datagram', () => {
    const one = encodeBundle([ack(1)])._unsafeUnwrap();
    expect(decodeBundle(new Uint8Array(0))._unsafeUnwrapErr().reason).toBe('truncated');
    const nested = Uint8Array.from(one);
    nested[0] = Type.BUNDLE;
    expect(decodeBundle(nested)._unsafeUnwrapErr().reason).toBe('type');
    expect(decodeBundle(Uint8Array.from([Type.ACK, 0, 0]))._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeBundle(one.subarray(0, one.length - 1))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeBundle(new Uint8Array(MAX_PEER_BODY + 1))._unsafeUnwrapErr().reason).toBe('oversize');
    expect(encodeBundle([])._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeBundle([{ code: Type.TRUCO, bytes: new Uint8Array(4) }])._unsafeUnwrapErr().reason).toBe('type');
    expect(encodeBundle([chat(1, MAX_FRAGMENT), chat(2, 10)]).isErr()).toBe(true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1300 }), (junk) => {
        const r = decodeBundle(junk);
        if (r.isOk()) for (const f of r.value) expect([Type.CHAT, Type.ACK]).toContain(f.code);
      }),
    );
  });

  it('packs frames in order into runs that each fit one datagram; a lone frame stays itself', () => {
    const small = Array.from({ length: 20 }, (_, i) => chat(i, 100));
    const runs = packFrames(small);
    expect(runs.flat()).toEqual(small);
    for (const r of runs) expect(bundleSize(r)).toBeLessThanOrEqual(MAX_PEER_BODY);
    // 100-byte messages: 121 bytes each in a bundle, 9 to a datagram
    expect(runs.map((r) => r.length)).toEqual([9, 9, 2]);
    expect(Math.floor(MAX_PEER_BODY / (BUNDLE_FRAME_HEADER + small[0]!.bytes.length))).toBe(9);
    // a full fragment cannot share a datagram: it goes alone, as a CHAT
    const full = chat(99, MAX_FRAGMENT);
    const mixed = packFrames([ack(1), full, ack(2)]);
    expect(mixed).toEqual([[ack(1)], [full], [ack(2)]]);
    expect(runBody([full])._unsafeUnwrap()).toBe(full);
    expect(runBody([ack(1), ack(2)])._unsafeUnwrap().code).toBe(Type.BUNDLE);
  });
});
