/**
 * The client's pinned server keys, like SSH's known_hosts.
 *
 * File `known_servers` in the client's data directory, one line per server:
 * `host:port SHA256:<fingerprint> <base64url public key>`; blank lines and
 * lines starting with `#` are ignored. A malformed line is an error, never
 * silently skipped (skipping it would re-pin whatever key answers next).
 * The file is created mode 0600.
 */

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from 'neverthrow';
import { KEY_SIZE } from './wire/constants.ts';
import { ensureDir } from './paths.ts';
import { fingerprint } from './crypto/keys.ts';

export const KNOWN_SERVERS_FILE = 'known_servers';

export interface ServerKeyChanged {
  type: 'ServerKeyChanged';
  server: string;
  /** fingerprint of the pinned key */
  expected: string;
  /** fingerprint of the key presented now */
  got: string;
}

export interface KnownServersError {
  type: 'KnownServersError';
  path: string;
  why: 'io' | 'malformed' | 'bad_server' | 'bad_key';
  message: string;
}

export interface InvalidServerKey {
  type: 'InvalidServerKey';
  message: string;
}

interface Pin {
  server: string;
  publicKey: Uint8Array;
}

/** `SHA256:` + unpadded base64url of sha256(publicKey) (crypto/keys.ts), re-exported for callers of this module. */
export { fingerprint };

/** A public key as the 43-character base64url text `--server-key` accepts. */
export const encodeServerKey = (publicKey: Uint8Array): string => Buffer.from(publicKey).toString('base64url');

const B64URL_KEY = /^[A-Za-z0-9_-]{43}$/;

/** Parses a `--server-key` value: the server's public key as 43 base64url characters. */
export function parsePinnedKey(text: string): Result<Uint8Array, InvalidServerKey> {
  const bad = (message: string): Result<Uint8Array, InvalidServerKey> => err({ type: 'InvalidServerKey', message });
  if (typeof text !== 'string') return bad('the server key must be text');
  const trimmed = text.trim();
  if (trimmed.startsWith('SHA256:')) {
    return bad('that is a fingerprint; --server-key needs the public key itself (43 base64url characters)');
  }
  if (!B64URL_KEY.test(trimmed)) return bad('the server key must be 43 base64url characters (A-Z a-z 0-9 - _)');
  const bytes = Buffer.from(trimmed, 'base64url');
  if (bytes.length !== KEY_SIZE || bytes.toString('base64url') !== trimmed) {
    return bad('the server key is not a canonical base64url encoding of 32 bytes');
  }
  return ok(new Uint8Array(bytes));
}

const SERVER = /^(\[[0-9a-f:.]+\]|[^\s:[\]#]+):([0-9]{1,5})$/;

/** The canonical `host:port` text (trimmed, lower case), or null. */
export function normalizeServer(server: string): string | null {
  if (typeof server !== 'string') return null;
  const text = server.trim().toLowerCase();
  const m = SERVER.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? text : null;
}

const fileOf = (dataDir: string): string => path.join(dataDir, KNOWN_SERVERS_FILE);

function failure<T>(file: string, why: KnownServersError['why'], message: string): Result<T, KnownServersError> {
  return err({ type: 'KnownServersError', path: file, why, message });
}

interface PinFile {
  pins: Pin[];
  text: string;
}

function readPins(dataDir: string): Result<PinFile, KnownServersError> {
  const file = fileOf(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok({ pins: [], text: '' });
    return failure(file, 'io', `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const pins: Pin[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const [name, fp, keyText] = fields;
    const server = name === undefined ? null : normalizeServer(name);
    const key = keyText === undefined ? null : parsePinnedKey(keyText).unwrapOr(null);
    if (fields.length !== 3 || !server || !key || fp !== fingerprint(key)) {
      return failure(file, 'malformed', `${file} line ${i + 1} is malformed; fix or delete that line`);
    }
    pins.push({ server, publicKey: key });
  }
  return ok({ pins, text });
}

function validate(dataDir: string, server: string, publicKey: Uint8Array): Result<string, KnownServersError> {
  const file = fileOf(dataDir);
  const name = normalizeServer(server);
  if (!name) return failure(file, 'bad_server', `${JSON.stringify(server)} is not a host:port server address`);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_SIZE) {
    return failure(file, 'bad_key', `a server public key must be ${KEY_SIZE} bytes`);
  }
  return ok(name);
}

const lineFor = (server: string, publicKey: Uint8Array): string =>
  `${server} ${fingerprint(publicKey)} ${encodeServerKey(publicKey)}\n`;

function appendLine(dataDir: string, text: string, line: string): Result<void, KnownServersError> {
  const file = fileOf(dataDir);
  const dir = ensureDir(dataDir);
  if (dir.isErr()) return failure(file, 'io', dir.error.message);
  try {
    const fd = fs.openSync(file, 'a', 0o600);
    try {
      fs.writeSync(fd, text === '' || text.endsWith('\n') ? line : '\n' + line);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return ok(undefined);
  } catch (e) {
    return failure(file, 'io', `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function rewrite(dataDir: string, body: string): Result<void, KnownServersError> {
  const file = fileOf(dataDir);
  const dir = ensureDir(dataDir);
  if (dir.isErr()) return failure(file, 'io', dir.error.message);
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return ok(undefined);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    return failure(file, 'io', `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The pinned key of `server`, or null when none is pinned (or the file cannot be read). */
export function lookupServerKey(dataDir: string, server: string): Uint8Array | null {
  const name = normalizeServer(server);
  if (!name) return null;
  const read = readPins(dataDir);
  if (read.isErr()) return null;
  return read.value.pins.find((pin) => pin.server === name)?.publicKey ?? null;
}

/**
 * Trust on first use: pins `publicKey` for `server` if none is pinned ('pinned'),
 * accepts it if it is the pinned key ('known'), refuses it otherwise.
 */
export function checkServerKey(
  dataDir: string,
  server: string,
  publicKey: Uint8Array,
): Result<{ status: 'pinned' | 'known' }, ServerKeyChanged | KnownServersError> {
  const name = validate(dataDir, server, publicKey);
  if (name.isErr()) return err(name.error);
  const read = readPins(dataDir);
  if (read.isErr()) return err(read.error);
  const pinned = read.value.pins.filter((pin) => pin.server === name.value);
  if (pinned.some((pin) => crypto.timingSafeEqual(pin.publicKey, publicKey))) return ok({ status: 'known' });
  const first = pinned[0];
  if (first) {
    return err({ type: 'ServerKeyChanged', server: name.value, expected: fingerprint(first.publicKey), got: fingerprint(publicKey) });
  }
  const appended = appendLine(dataDir, read.value.text, lineFor(name.value, publicKey));
  if (appended.isErr()) return err(appended.error);
  return ok({ status: 'pinned' });
}

/**
 * Pins `publicKey` for `server`, replacing any key pinned before: the explicit
 * path, for a key the user gave (`--server-key`) or confirmed.
 */
export function rememberServerKey(dataDir: string, server: string, publicKey: Uint8Array): Result<void, KnownServersError> {
  const name = validate(dataDir, server, publicKey);
  if (name.isErr()) return err(name.error);
  const read = readPins(dataDir);
  if (read.isErr()) return err(read.error);
  const { pins, text } = read.value;
  const mine = pins.filter((pin) => pin.server === name.value);
  if (mine.length === 1 && crypto.timingSafeEqual((mine[0] as Pin).publicKey, publicKey)) return ok(undefined);
  if (mine.length === 0) return appendLine(dataDir, text, lineFor(name.value, publicKey));
  const kept = text
    .split('\n')
    .filter((line) => {
      const first = line.trim().split(/\s+/)[0];
      return line.trim().startsWith('#') || first === undefined || normalizeServer(first) !== name.value;
    })
    .join('\n')
    .replace(/\n*$/, '\n');
  return rewrite(dataDir, (kept === '\n' ? '' : kept) + lineFor(name.value, publicKey));
}
