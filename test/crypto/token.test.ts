import { describe, expect, it } from 'vitest';
import { TOKEN_SIZE } from '../../runtime/wire/constants.ts';
import * as aead from '../../runtime/crypto/aead.ts';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { complete, initiate, respond } from '../../runtime/crypto/noise.ts';
import { clientKeys, createSession, serverKeys } from '../../runtime/crypto/session.ts';
import { COOKIE_ROTATION_MS, CookieJar, TOKEN_LIFETIME_MS, addressBinding } from '../../runtime/crypto/token.ts';

const client = { host: '127.0.0.1', port: 40001 };
const split = { cs: Buffer.alloc(32, 1), sc: Buffer.alloc(32, 2) };
const hash = Buffer.alloc(32, 3);
const T0 = 1_700_000_000_000;

describe('stateless token', () => {
  it('is 132 bytes and gives back the keys, hash and issue time', () => {
    const jar = new CookieJar(T0);
    const token = jar.seal(T0, client, split, hash);
    expect(token.length).toBe(TOKEN_SIZE);
    const got = jar.open(T0 + 5, client, token)._unsafeUnwrap();
    expect(Buffer.compare(got.split.cs, split.cs)).toBe(0);
    expect(Buffer.compare(got.split.sc, split.sc)).toBe(0);
    expect(Buffer.compare(got.hash, hash)).toBe(0);
    expect(got.issuedAt).toBe(T0);
  });

  it('is bound to the client address and port', () => {
    const jar = new CookieJar(T0);
    const token = jar.seal(T0, client, split, hash);
    expect(jar.open(T0, { ...client, port: 40002 }, token)._unsafeUnwrapErr()).toEqual({ type: 'TokenInvalid' });
    expect(jar.open(T0, { ...client, host: '127.0.0.2' }, token).isErr()).toBe(true);
    expect(jar.open(T0, { host: '::ffff:127.0.0.1', port: 40001 }, token).isErr()).toBe(true);
    expect(Buffer.compare(addressBinding({ host: '::1', port: 1 }), addressBinding({ host: '::1', port: 2 }))).not.toBe(0);
  });

  it('rejects tampering, other servers and wrong sizes', () => {
    const jar = new CookieJar(T0);
    const token = jar.seal(T0, client, split, hash);
    for (const i of [0, 11, 12, 60, 131]) {
      const bad = Buffer.from(token);
      bad[i]! ^= 1;
      expect(jar.open(T0, client, bad).isErr()).toBe(true);
    }
    expect(new CookieJar(T0).open(T0, client, token).isErr()).toBe(true); // server restarted: new cookie key
    expect(jar.open(T0, client, token.subarray(0, 131)).isErr()).toBe(true);
    expect(jar.open(T0, client, Buffer.alloc(200)).isErr()).toBe(true);
  });

  it('expires after 10 s', () => {
    const jar = new CookieJar(T0);
    const token = jar.seal(T0, client, split, hash);
    expect(jar.open(T0 + TOKEN_LIFETIME_MS, client, token).isOk()).toBe(true);
    expect(jar.open(T0 + TOKEN_LIFETIME_MS + 1, client, token)._unsafeUnwrapErr()).toEqual({
      type: 'TokenExpired',
      ageMs: TOKEN_LIFETIME_MS + 1,
    });
  });

  it('still opens a token across a key rotation, and not two rotations later', () => {
    const keys: Buffer[] = [];
    const jar = new CookieJar(T0, { newKey: () => (keys.push(Buffer.alloc(32, keys.length + 1)), keys.at(-1)!), lifetimeMs: 10 * 60_000 });
    const token = jar.seal(T0 + COOKIE_ROTATION_MS - 1000, client, split, hash);
    expect(jar.open(T0 + COOKIE_ROTATION_MS + 1000, client, token).isOk()).toBe(true); // now under the previous key
    expect(keys.length).toBe(2);
    expect(jar.open(T0 + 2 * COOKIE_ROTATION_MS + 2000, client, token)._unsafeUnwrapErr()).toEqual({ type: 'TokenInvalid' });
    expect(keys.length).toBe(3);
  });

  it('drops both keys after a long idle spell', () => {
    const jar = new CookieJar(T0, { lifetimeMs: 10 * 60_000 });
    const token = jar.seal(T0, client, split, hash);
    expect(jar.open(T0 + 2 * COOKIE_ROTATION_MS + 1, client, token).isErr()).toBe(true);
  });

  it('carries a whole login: HELLO, WELCOME(token), AUTH at counter 0, AUTH_RESULT, then sessions', () => {
    const serverKey = generateKeyPair();
    const jar = new CookieJar(T0);
    // client → HELLO
    const hello = initiate(serverKey.publicKey)._unsafeUnwrap();
    // server → WELCOME, keeping nothing
    const welcome = respond(serverKey, hello.message, ({ split, hash }) => jar.seal(T0, client, split, hash))._unsafeUnwrap();
    // client reads the token and sends AUTH sealed under k_cs at counter 0, aad = header | token
    const done = complete(hello.state, welcome.message)._unsafeUnwrap();
    const token = done.payload;
    const authAad = Buffer.concat([Buffer.from([1, 0x03]), token]);
    expect(authAad.length).toBe(134);
    const request = Buffer.from('LOGIN ana@example.com');
    const auth = aead.seal(done.split.cs, 0, authAad, request);
    // server: open the token (for this address) to recover the keys, then the request
    const opened = jar.open(T0 + 300, client, token)._unsafeUnwrap();
    expect(Buffer.compare(opened.hash, done.hash)).toBe(0);
    expect(Buffer.from(aead.open(opened.split.cs, 0, authAad, auth)._unsafeUnwrap()).toString()).toBe(request.toString());
    // An attacker who saw the token cannot forge an AUTH: it lacks k_cs.
    expect(aead.open(opened.split.cs, 0, authAad, aead.seal(Buffer.alloc(32), 0, authAad, request)).isErr()).toBe(true);
    // AUTH_RESULT under k_sc, counter 0
    const resultAad = Buffer.from([1, 0x04]);
    const result = aead.seal(opened.split.sc, 0, resultAad, Buffer.from('OK_SESSION'));
    expect(Buffer.from(aead.open(done.split.sc, 0, resultAad, result)._unsafeUnwrap()).toString()).toBe('OK_SESSION');
    // Session traffic starts at counter 1 on both sides.
    const c = createSession(clientKeys(done.split));
    const s = createSession(serverKeys(opened.split));
    const n = c.tx.take()._unsafeUnwrap();
    expect(n).toBe(1n);
    expect(s.rx.open(n, Buffer.from('h'), c.tx.seal(n, Buffer.from('h'), Buffer.from('seis'))).isOk()).toBe(true);
  });
});
