import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKey, equalBytes, generateKeyPair } from '../../runtime/crypto/keys.ts';
import { formatKeyFile, loadOrCreateServerKey, parseKeyFile } from '../../runtime/crypto/keyfile.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'truco-keyfile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('server key file', () => {
  it('creates the key on first start with mode 0600, and loads the same key after', async () => {
    const path = join(dir, 'data', 'server.key');
    const created = (await loadOrCreateServerKey(path))._unsafeUnwrap();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const loaded = (await loadOrCreateServerKey(path))._unsafeUnwrap();
    expect(equalBytes(loaded.publicKey, created.publicKey)).toBe(true);
    expect(JSON.parse(await readFile(path, 'utf8')).public).toBe(encodeKey(created.publicKey));
    expect(await readdir(join(dir, 'data'))).toEqual(['server.key']); // no temp files left
  });

  it('gives every one of several servers starting at once the same key', async () => {
    const path = join(dir, 'server.key');
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateServerKey(path)));
    const keys = results.map((r) => encodeKey(r._unsafeUnwrap().publicKey));
    expect(new Set(keys).size).toBe(1);
    expect(await readdir(dir)).toEqual(['server.key']);
  });

  it('refuses a key file that other users can read', async () => {
    const path = join(dir, 'server.key');
    await loadOrCreateServerKey(path);
    await chmod(path, 0o644);
    expect((await loadOrCreateServerKey(path))._unsafeUnwrapErr()).toEqual({ type: 'KeyFileTooOpen', path, mode: 0o644 });
  });

  it('reports a corrupt or inconsistent file instead of replacing it', async () => {
    const path = join(dir, 'server.key');
    await writeFile(path, 'not json', { mode: 0o600 });
    expect((await loadOrCreateServerKey(path))._unsafeUnwrapErr()).toMatchObject({ type: 'KeyFileUnusable', path });
    expect(await readFile(path, 'utf8')).toBe('not json');
    const a = generateKeyPair();
    const b = generateKeyPair();
    const mixed = JSON.parse(formatKeyFile(a));
    mixed.public = encodeKey(b.publicKey);
    expect(parseKeyFile(path, JSON.stringify(mixed))._unsafeUnwrapErr().message).toMatch(/does not match/);
    expect(parseKeyFile(path, JSON.stringify({ version: 2 })).isErr()).toBe(true);
    expect(parseKeyFile(path, 'null').isErr()).toBe(true);
    expect(parseKeyFile(path, formatKeyFile(a)).isOk()).toBe(true);
  });

  it('reports a path it cannot create as an error value', async () => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, 'x');
    expect((await loadOrCreateServerKey(join(blocker, 'server.key')))._unsafeUnwrapErr().type).toBe('KeyFileUnusable');
  });
});
