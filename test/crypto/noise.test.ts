import { describe, expect, it, vi } from 'vitest';
import * as aead from '../../runtime/crypto/aead.ts';
import * as keysModule from '../../runtime/crypto/keys.ts';
import { generateKeyPair, keyPairFromSecret } from '../../runtime/crypto/keys.ts';
import * as noiseModule from '../../runtime/crypto/noise.ts';
import { HELLO_NOISE_SIZE, PROTOCOL_NAME, complete, initiate, respond } from '../../runtime/crypto/noise.ts';
import { HANDSHAKE_BACKEND } from '../../runtime/crypto/sodium.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Cacophony's vector for this exact protocol (as shipped in the snow test suite).
const vector = {
  prologue: '4a6f686e2047616c74',
  initEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
  respStatic: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
  respStaticPublic: '31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62',
  respEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
  handshakeHash: '2efa38a9c7c93ac98f3a097af25c2f58b9e7673787717bc27e98827118c2c1a5',
  messages: [
    ['4c756477696720766f6e204d69736573', 'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79448134d00711fdb390a0d178fa008f6d47d2891e5ea18ae136c3b4c23ac384efb0'],
    ['4d757272617920526f746862617264', '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088438ea16e3701bc0d77744f117bee22451c9afa7f4cdbbcff00c04a8ee0913c88'],
    ['462e20412e20486179656b', 'a62de29ce27cb80245d440d986ed816c156e9d757d7008df2198b0'],
    ['4361726c204d656e676572', '174a35f11c689f4530d7208618e0564ae12f2f50ba8eb4df5382ff'],
    ['4a65616e2d426170746973746520536179', '337e475ebb8eae60f91974c4e455a5af38d1d8628d1803b160d60442874b0a1777'],
    ['457567656e2042f6686d20766f6e2042617765726b', '047e80e060b7bb08b53c5a23dfe9920cae135b9d1dc6302fc475003062723700366346ac9d'],
  ] as const,
};

describe('noise NK', () => {
  it('has a 32-byte protocol name, used as h without hashing', () => {
    expect(Buffer.byteLength(PROTOCOL_NAME)).toBe(32);
  });

  /** the vector through one pair of modules (libsodium-backed, or node:crypto with TRUCO_CRYPTO=node) */
  function checkVector(keys: typeof keysModule, noise: typeof noiseModule): void {
    const prologue = hex(vector.prologue);
    const server = keys.keyPairFromSecret(hex(vector.respStatic))._unsafeUnwrap();
    expect(toHex(server.publicKey)).toBe(vector.respStaticPublic);
    const ie = keys.keyPairFromSecret(hex(vector.initEphemeral))._unsafeUnwrap();
    const re = keys.keyPairFromSecret(hex(vector.respEphemeral))._unsafeUnwrap();
    const [m0, m1, ...transport] = vector.messages;

    const first = noise.initiate(server.publicKey, hex(m0[0]), { prologue, ephemeral: ie })._unsafeUnwrap();
    expect(toHex(first.message)).toBe(m0[1]);

    const reply = noise.respond(server, first.message, () => hex(m1[0]), { prologue, ephemeral: re })._unsafeUnwrap();
    expect(toHex(reply.payload)).toBe(m0[0]);
    expect(toHex(reply.message)).toBe(m1[1]);
    expect(toHex(reply.finalHash)).toBe(vector.handshakeHash);

    const done = noise.complete(first.state, reply.message)._unsafeUnwrap();
    expect(toHex(done.payload)).toBe(m1[0]);
    expect(toHex(done.finalHash)).toBe(vector.handshakeHash);
    expect(toHex(done.hash)).toBe(toHex(reply.hash));

    // Transport: initiator → responder with cs, responder → initiator with sc, nonces 0, 0, 1, 1, empty AD.
    transport.forEach(([payload, ciphertext], i) => {
      const key = i % 2 === 0 ? done.split.cs : done.split.sc;
      const n = Math.floor(i / 2);
      expect(toHex(aead.seal(key, n, Buffer.alloc(0), hex(payload)))).toBe(ciphertext);
      const other = i % 2 === 0 ? reply.split.cs : reply.split.sc;
      expect(toHex(aead.open(other, n, Buffer.alloc(0), hex(ciphertext))._unsafeUnwrap())).toBe(payload);
    });
  }

  it('reproduces the cacophony Noise_NK_25519_ChaChaPoly_SHA256 vector, handshake and transport', () => {
    checkVector(keysModule, noiseModule);
    expect(HANDSHAKE_BACKEND).toBe('libsodium');
  });

  it('reproduces the same vector through node:crypto (TRUCO_CRYPTO=node), and the two backends interoperate', async () => {
    vi.stubEnv('TRUCO_CRYPTO', 'node');
    vi.resetModules();
    try {
      const sodium = await import('../../runtime/crypto/sodium.ts');
      const keys = await import('../../runtime/crypto/keys.ts');
      const noise = await import('../../runtime/crypto/noise.ts');
      expect(sodium.HANDSHAKE_BACKEND).toBe('node:crypto');
      checkVector(keys, noise);
      // a node:crypto client against a libsodium server, and the other way round
      const server = generateKeyPair();
      const a = noise.initiate(server.publicKey)._unsafeUnwrap();
      const ra = respond(server, a.message, () => Buffer.from('t1'))._unsafeUnwrap();
      expect(Buffer.from(noise.complete(a.state, ra.message)._unsafeUnwrap().payload).toString()).toBe('t1');
      const nodeServer = keys.generateKeyPair();
      const b = initiate(nodeServer.publicKey)._unsafeUnwrap();
      const rb = noise.respond(nodeServer, b.message, () => Buffer.from('t2'))._unsafeUnwrap();
      expect(Buffer.from(complete(b.state, rb.message)._unsafeUnwrap().payload).toString()).toBe('t2');
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it('runs the truco handshake: 48-byte HELLO, payload carried in WELCOME, matching keys and hashes', () => {
    const server = generateKeyPair();
    const hello = initiate(server.publicKey)._unsafeUnwrap();
    expect(hello.message.length).toBe(HELLO_NOISE_SIZE);
    let seen: { cs: Uint8Array; sc: Uint8Array; hash: Uint8Array } | undefined;
    const reply = respond(server, hello.message, ({ split, hash }) => {
      seen = { ...split, hash };
      return Buffer.from('token goes here');
    })._unsafeUnwrap();
    expect(reply.payload.length).toBe(0);
    const done = complete(hello.state, reply.message)._unsafeUnwrap();
    expect(Buffer.from(done.payload).toString()).toBe('token goes here');
    expect(toHex(done.split.cs)).toBe(toHex(seen!.cs));
    expect(toHex(done.split.sc)).toBe(toHex(seen!.sc));
    expect(toHex(done.hash)).toBe(toHex(seen!.hash));
    expect(toHex(done.finalHash)).toBe(toHex(reply.finalHash));
    expect(toHex(done.split.cs)).not.toBe(toHex(done.split.sc));
    expect(toHex(done.hash)).not.toBe(toHex(done.finalHash));
  });

  it('fails against a server that does not hold the pinned key', () => {
    const pinned = generateKeyPair();
    const impostor = generateKeyPair();
    const hello = initiate(pinned.publicKey)._unsafeUnwrap();
    expect(respond(impostor, hello.message, () => Buffer.alloc(0))._unsafeUnwrapErr()).toEqual({
      type: 'HandshakeFailed',
      reason: 'decrypt',
    });
    // Even if the impostor answers with a well-formed message 2 of its own, the client rejects it.
    const ownHello = initiate(impostor.publicKey)._unsafeUnwrap();
    const forged = respond(impostor, ownHello.message, () => Buffer.from('x'))._unsafeUnwrap();
    expect(complete(hello.state, forged.message).isErr()).toBe(true);
  });

  it('detects tampering with either message and a prologue mismatch', () => {
    const server = generateKeyPair();
    const hello = initiate(server.publicKey)._unsafeUnwrap();
    for (const i of [0, 31, 32, 47]) {
      const bad = Buffer.from(hello.message);
      bad[i]! ^= 1;
      expect(respond(server, bad, () => Buffer.alloc(0)).isErr()).toBe(true);
    }
    expect(respond(server, hello.message, () => Buffer.alloc(0), { prologue: Buffer.from('truco/2') }).isErr()).toBe(true);
    const reply = respond(server, hello.message, () => Buffer.from('payload'))._unsafeUnwrap();
    const bad = Buffer.from(reply.message);
    bad[40]! ^= 1;
    const fresh = initiate(server.publicKey)._unsafeUnwrap();
    const reply2 = respond(server, fresh.message, () => Buffer.from('payload'))._unsafeUnwrap();
    const bad2 = Buffer.from(reply2.message);
    bad2[3]! ^= 1;
    expect(complete(hello.state, bad).isErr()).toBe(true);
    expect(complete(fresh.state, bad2).isErr()).toBe(true);
  });

  it('refuses short messages and low-order ephemerals without throwing', () => {
    const server = generateKeyPair();
    expect(respond(server, Buffer.alloc(47), () => Buffer.alloc(0))._unsafeUnwrapErr()).toEqual({ type: 'HandshakeFailed', reason: 'short' });
    expect(respond(server, Buffer.alloc(48), () => Buffer.alloc(0))._unsafeUnwrapErr()).toEqual({ type: 'HandshakeFailed', reason: 'key' });
    const hello = initiate(server.publicKey)._unsafeUnwrap();
    expect(complete(hello.state, Buffer.alloc(47)).isErr()).toBe(true);
    expect(initiate(Buffer.alloc(32))._unsafeUnwrapErr()).toEqual({ type: 'InvalidPublicKey' });
    expect(initiate(Buffer.alloc(31, 1)).isErr()).toBe(true);
  });

  it('survives a forged WELCOME arriving before the genuine one', () => {
    const server = generateKeyPair();
    const hello = initiate(server.publicKey)._unsafeUnwrap();
    const genuine = respond(server, hello.message, () => Buffer.from('real token'))._unsafeUnwrap();
    const garbage = Buffer.from(genuine.message);
    garbage[50]! ^= 0xff;
    expect(complete(hello.state, garbage).isErr()).toBe(true);
    expect(complete(hello.state, generateKeyPair().publicKey).isErr()).toBe(true);
    const done = complete(hello.state, genuine.message)._unsafeUnwrap();
    expect(Buffer.from(done.payload).toString()).toBe('real token');
    expect(toHex(done.split.sc)).toBe(toHex(genuine.split.sc));
  });

  it('gives a replayed HELLO fresh keys that the replayer cannot use', () => {
    const server = generateKeyPair();
    const hello = initiate(server.publicKey)._unsafeUnwrap();
    const a = respond(server, hello.message, () => Buffer.from('t'))._unsafeUnwrap();
    const b = respond(server, hello.message, () => Buffer.from('t'))._unsafeUnwrap();
    expect(toHex(a.split.cs)).not.toBe(toHex(b.split.cs));
    expect(toHex(a.hash)).not.toBe(toHex(b.hash));
    // Only the holder of the client's ephemeral secret can finish, whichever answer it gets.
    expect(toHex(complete(hello.state, b.message)._unsafeUnwrap().split.cs)).toBe(toHex(b.split.cs));
  });
});
