import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { resetKeyOf, resetToken, sameToken } from '../../runtime/crypto/reset.ts';

describe('stateless reset tokens (STALE, PROTOCOL.md §2.6)', () => {
  const server = generateKeyPair();
  const key = resetKeyOf(server);

  it('are 16 bytes, the same for the same server key and session (a restart can remake them)', () => {
    const t = resetToken(key, 0xdeadbeef);
    expect(t).toHaveLength(16);
    expect(sameToken(t, resetToken(resetKeyOf(server), 0xdeadbeef))).toBe(true);
  });

  it('differ per session and per server key', () => {
    const t = resetToken(key, 1);
    expect(sameToken(t, resetToken(key, 2))).toBe(false);
    expect(sameToken(t, resetToken(resetKeyOf(generateKeyPair()), 1))).toBe(false);
    // the reset key is not the private key itself
    expect(Buffer.from(key).equals(Buffer.from(server.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url'))).toBe(false);
  });

  it('compare safely, whatever the lengths', () => {
    const t = resetToken(key, 7);
    expect(sameToken(t, t.subarray(0, 15))).toBe(false);
    expect(sameToken(t, new Uint8Array(16))).toBe(false);
    expect(sameToken(t, Uint8Array.from(t))).toBe(true);
  });
});
