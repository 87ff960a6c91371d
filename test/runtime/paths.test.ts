import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultDataDir, ensureDir } from '../../runtime/paths.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truco-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('defaultDataDir', () => {
  it('prefers $TRUCO_DATA, then $XDG_DATA_HOME/truco, then ~/.local/share/truco', () => {
    expect(defaultDataDir({ TRUCO_DATA: '/srv/truco', XDG_DATA_HOME: '/x', HOME: '/home/a' })).toBe('/srv/truco');
    expect(defaultDataDir({ XDG_DATA_HOME: '/x/data', HOME: '/home/a' })).toBe('/x/data/truco');
    expect(defaultDataDir({ HOME: '/home/a' })).toBe('/home/a/.local/share/truco');
  });

  it('ignores empty values and a relative $XDG_DATA_HOME', () => {
    expect(defaultDataDir({ TRUCO_DATA: '', XDG_DATA_HOME: '', HOME: '/home/a' })).toBe('/home/a/.local/share/truco');
    expect(defaultDataDir({ XDG_DATA_HOME: 'relative/dir', HOME: '/home/a' })).toBe('/home/a/.local/share/truco');
  });

  it('resolves a relative $TRUCO_DATA against the working directory', () => {
    expect(defaultDataDir({ TRUCO_DATA: 'data' })).toBe(path.resolve('data'));
  });

  it('falls back to the OS home directory without $HOME', () => {
    expect(defaultDataDir({})).toBe(path.join(os.homedir(), '.local', 'share', 'truco'));
  });
});

describe('ensureDir', () => {
  it('creates nested directories with mode 0700 and returns the absolute path', () => {
    const base = tempDir();
    const dir = path.join(base, 'a', 'b', 'c');
    expect(ensureDir(dir)._unsafeUnwrap()).toBe(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(base, 'a')).mode & 0o777).toBe(0o700);
  });

  it('accepts an existing directory', () => {
    const dir = tempDir();
    expect(ensureDir(dir)._unsafeUnwrap()).toBe(dir);
    expect(ensureDir(dir)._unsafeUnwrap()).toBe(dir);
  });

  it('returns a DirError when a file is in the way', () => {
    const base = tempDir();
    const file = path.join(base, 'file');
    fs.writeFileSync(file, 'x');
    const same = ensureDir(file)._unsafeUnwrapErr();
    expect(same.type).toBe('DirError');
    expect(same.message).toContain('not a directory');
    const below = ensureDir(path.join(file, 'sub'))._unsafeUnwrapErr();
    expect(below.type).toBe('DirError');
    expect(below.path).toBe(path.join(file, 'sub'));
  });
});
