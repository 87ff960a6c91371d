import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KNOWN_SERVERS_FILE,
  checkServerKey,
  encodeServerKey,
  fingerprint,
  lookupServerKey,
  normalizeServer,
  parsePinnedKey,
  rememberServerKey,
} from '../../runtime/known-servers.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truco-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const newKey = (): Uint8Array => new Uint8Array(crypto.randomBytes(32));
const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString('hex') : null);

describe('checkServerKey (trust on first use)', () => {
  it('pins on first use, then knows the key', () => {
    const dir = tempDir();
    const key = newKey();
    expect(checkServerKey(dir, 'chat.lan:54319', key)._unsafeUnwrap()).toEqual({ status: 'pinned' });
    expect(checkServerKey(dir, 'chat.lan:54319', key)._unsafeUnwrap()).toEqual({ status: 'known' });
    expect(checkServerKey(dir, 'CHAT.lan:54319', key)._unsafeUnwrap()).toEqual({ status: 'known' });
    const file = path.join(dir, KNOWN_SERVERS_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`chat.lan:54319 ${fingerprint(key)} ${encodeServerKey(key)}\n`);
  });

  it('refuses a changed key and names both fingerprints', () => {
    const dir = tempDir();
    const key = newKey();
    const evil = newKey();
    checkServerKey(dir, '10.0.0.1:54319', key)._unsafeUnwrap();
    expect(checkServerKey(dir, '10.0.0.1:54319', evil)._unsafeUnwrapErr()).toEqual({
      type: 'ServerKeyChanged',
      server: '10.0.0.1:54319',
      expected: fingerprint(key),
      got: fingerprint(evil),
    });
    // the refusal pins nothing
    expect(hex(lookupServerKey(dir, '10.0.0.1:54319'))).toBe(hex(key));
  });

  it('keeps servers apart, including ports', () => {
    const dir = tempDir();
    const a = newKey();
    const b = newKey();
    checkServerKey(dir, 'host:1000', a)._unsafeUnwrap();
    expect(checkServerKey(dir, 'host:2000', b)._unsafeUnwrap().status).toBe('pinned');
    expect(checkServerKey(dir, '[::1]:1000', b)._unsafeUnwrap().status).toBe('pinned');
    expect(hex(lookupServerKey(dir, 'host:1000'))).toBe(hex(a));
    expect(hex(lookupServerKey(dir, 'host:2000'))).toBe(hex(b));
    expect(hex(lookupServerKey(dir, '[::1]:1000'))).toBe(hex(b));
    expect(lookupServerKey(dir, 'host:3000')).toBeNull();
  });

  it('creates the data directory when missing', () => {
    const dir = path.join(tempDir(), 'client', 'data');
    expect(checkServerKey(dir, 'h:1', newKey())._unsafeUnwrap().status).toBe('pinned');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a bad server name or key length', () => {
    const dir = tempDir();
    expect(checkServerKey(dir, 'no-port', newKey())._unsafeUnwrapErr()).toMatchObject({ type: 'KnownServersError', why: 'bad_server' });
    expect(checkServerKey(dir, 'h:70000', newKey())._unsafeUnwrapErr()).toMatchObject({ why: 'bad_server' });
    expect(checkServerKey(dir, 'a b:1', newKey())._unsafeUnwrapErr()).toMatchObject({ why: 'bad_server' });
    expect(checkServerKey(dir, 'h:1', new Uint8Array(31))._unsafeUnwrapErr()).toMatchObject({ why: 'bad_key' });
    expect(fs.existsSync(path.join(dir, KNOWN_SERVERS_FILE))).toBe(false);
  });

  it('reports a malformed line instead of silently re-pinning', () => {
    const dir = tempDir();
    const key = newKey();
    const file = path.join(dir, KNOWN_SERVERS_FILE);
    fs.writeFileSync(file, `# my servers\n\nh:1 ${fingerprint(newKey())} ${encodeServerKey(key)}\n`, { mode: 0o600 });
    const e = checkServerKey(dir, 'h:1', key)._unsafeUnwrapErr();
    expect(e).toMatchObject({ type: 'KnownServersError', why: 'malformed' });
    if (e.type === 'KnownServersError') expect(e.message).toContain('line 3');
    expect(lookupServerKey(dir, 'h:1')).toBeNull();
    expect(rememberServerKey(dir, 'h:1', key)._unsafeUnwrapErr()).toMatchObject({ why: 'malformed' });
  });

  it('reads comments, blank lines and a last line without newline', () => {
    const dir = tempDir();
    const key = newKey();
    const file = path.join(dir, KNOWN_SERVERS_FILE);
    fs.writeFileSync(file, `# pinned by hand\n\nh:1 ${fingerprint(key)} ${encodeServerKey(key)}`, { mode: 0o600 });
    expect(checkServerKey(dir, 'h:1', key)._unsafeUnwrap().status).toBe('known');
    const other = newKey();
    expect(checkServerKey(dir, 'h:2', other)._unsafeUnwrap().status).toBe('pinned');
    expect(hex(lookupServerKey(dir, 'h:1'))).toBe(hex(key));
    expect(hex(lookupServerKey(dir, 'h:2'))).toBe(hex(other));
  });
});

describe('rememberServerKey', () => {
  it('pins, then replaces only that server\'s key, keeping comments and other servers', () => {
    const dir = tempDir();
    const file = path.join(dir, KNOWN_SERVERS_FILE);
    const a = newKey();
    const b = newKey();
    const c = newKey();
    rememberServerKey(dir, 'a:1', a)._unsafeUnwrap();
    fs.appendFileSync(file, '# note\n');
    rememberServerKey(dir, 'b:1', b)._unsafeUnwrap();
    rememberServerKey(dir, 'a:1', c)._unsafeUnwrap();
    expect(hex(lookupServerKey(dir, 'a:1'))).toBe(hex(c));
    expect(hex(lookupServerKey(dir, 'b:1'))).toBe(hex(b));
    expect(checkServerKey(dir, 'a:1', a).isErr()).toBe(true);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('# note\n');
    expect(text.match(/^a:1 /gm)).toHaveLength(1);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual([KNOWN_SERVERS_FILE]);
  });

  it('is a no-op for the key already pinned', () => {
    const dir = tempDir();
    const a = newKey();
    rememberServerKey(dir, 'a:1', a)._unsafeUnwrap();
    const before = fs.readFileSync(path.join(dir, KNOWN_SERVERS_FILE), 'utf8');
    rememberServerKey(dir, 'A:1', a)._unsafeUnwrap();
    expect(fs.readFileSync(path.join(dir, KNOWN_SERVERS_FILE), 'utf8')).toBe(before);
  });
});

describe('lookupServerKey', () => {
  it('returns null without a file, for a bad name, or an unreadable file', () => {
    const dir = tempDir();
    expect(lookupServerKey(dir, 'h:1')).toBeNull();
    expect(lookupServerKey(dir, 'nonsense')).toBeNull();
    fs.mkdirSync(path.join(dir, KNOWN_SERVERS_FILE));
    expect(lookupServerKey(dir, 'h:1')).toBeNull();
    expect(checkServerKey(dir, 'h:1', newKey())._unsafeUnwrapErr()).toMatchObject({ why: 'io' });
  });
});

describe('parsePinnedKey', () => {
  it('accepts 43 base64url characters and returns the 32 bytes', () => {
    const key = newKey();
    expect(hex(parsePinnedKey(encodeServerKey(key))._unsafeUnwrap())).toBe(hex(key));
    expect(hex(parsePinnedKey(`  ${encodeServerKey(key)}\n`)._unsafeUnwrap())).toBe(hex(key));
  });

  it('refuses anything else with a reason', () => {
    const key = encodeServerKey(newKey());
    const refused = (text: string): string => parsePinnedKey(text)._unsafeUnwrapErr().message;
    expect(refused(fingerprint(newKey()))).toContain('fingerprint');
    expect(refused('')).toContain('43');
    expect(refused(key.slice(1))).toContain('43');
    expect(refused(`${key}=`)).toContain('43');
    expect(refused(Buffer.from(newKey()).toString('base64').replace(/=$/, '').replace(/[A-Za-z0-9]/, '+').slice(0, 43))).toContain('base64url');
    // 43 characters whose last one carries non-zero padding bits is not canonical
    expect(refused(`${key.slice(0, 42)}_`)).toContain('canonical');
  });
});

describe('normalizeServer', () => {
  it('lower-cases and checks host:port', () => {
    expect(normalizeServer(' Chat.LAN:54319 ')).toBe('chat.lan:54319');
    expect(normalizeServer('[FE80::1]:1')).toBe('[fe80::1]:1');
    expect(normalizeServer('::1:54319')).toBeNull();
    expect(normalizeServer('h:0')).toBeNull();
    expect(normalizeServer('h:')).toBeNull();
    expect(normalizeServer(':1')).toBeNull();
  });
});
