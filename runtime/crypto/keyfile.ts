/**
 * The server's static X25519 key pair on disk, created on first start next to
 * the database, mode 0600. Creation is atomic (write a private temp file,
 * fsync, then link it into place, which fails if another process won the
 * race), so a crash never leaves half a key and two servers starting
 * together end up with the same key. Like ssh, a key file that other users
 * can read is refused rather than used.
 *
 * File format (JSON, one object): {"version":1,"secret":"<b64url>","public":"<b64url>"}
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ResultAsync, err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import type { KeyFileTooOpen, KeyFileUnusable } from './errors.ts';
import { messageOf } from './errors.ts';
import { decodeKey, encodeKey, equalBytes, exportSecret, generateKeyPair, keyPairFromSecret } from './keys.ts';
import type { KeyPair } from './keys.ts';

export type KeyFileError = KeyFileTooOpen | KeyFileUnusable;

const unusable = (path: string, message: string): KeyFileUnusable => ({ type: 'KeyFileUnusable', path, message });

const codeOf = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;

/** Parses the file's text into a key pair whose halves agree. */
export function parseKeyFile(path: string, text: string): Result<KeyPair, KeyFileUnusable> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return err(unusable(path, 'not JSON'));
  }
  if (typeof doc !== 'object' || doc === null) return err(unusable(path, 'not a key file'));
  const { version, secret, public: pub } = doc as Record<string, unknown>;
  if (version !== 1) return err(unusable(path, `unsupported version ${String(version)}`));
  if (typeof secret !== 'string' || typeof pub !== 'string') return err(unusable(path, 'missing secret or public key'));
  const s = decodeKey(secret);
  const p = decodeKey(pub);
  if (s.isErr() || p.isErr()) return err(unusable(path, 'keys are not 32-byte base64url'));
  const pair = keyPairFromSecret(s.value);
  if (pair.isErr()) return err(unusable(path, pair.error.reason));
  if (!equalBytes(pair.value.publicKey, p.value)) return err(unusable(path, 'public key does not match the secret key'));
  return ok(pair.value);
}

export function formatKeyFile(pair: KeyPair): string {
  return JSON.stringify({ version: 1, secret: encodeKey(exportSecret(pair)), public: encodeKey(pair.publicKey) }) + '\n';
}

async function load(path: string): Promise<Result<KeyPair, KeyFileError> | null> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return null;
    return err(unusable(path, messageOf(e)));
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    return err({ type: 'KeyFileTooOpen', path, mode: mode & 0o777 });
  }
  try {
    return parseKeyFile(path, await readFile(path, 'utf8'));
  } catch (e) {
    return err(unusable(path, messageOf(e)));
  }
}

async function create(path: string): Promise<Result<KeyPair, KeyFileError>> {
  const pair = generateKeyPair();
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(formatKeyFile(pair));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, path);
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') throw e;
      // Another process created it first: use theirs.
      return (await load(path)) ?? err(unusable(path, 'key file vanished while being created'));
    }
    await syncDir(dirname(path));
    return ok(pair);
  } catch (e) {
    return err(unusable(path, messageOf(e)));
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform can fsync a directory; the link itself has happened.
  }
}

/** Loads the server key at `path`, creating it (and its directory) on first start. */
export function loadOrCreateServerKey(path: string): ResultAsync<KeyPair, KeyFileError> {
  const run = async (): Promise<Result<KeyPair, KeyFileError>> => (await load(path)) ?? create(path);
  return new ResultAsync(run().catch((e: unknown) => err(unusable(path, messageOf(e)))));
}
