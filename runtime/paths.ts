/**
 * Where truco keeps its files: `$TRUCO_DATA`, else `$XDG_DATA_HOME/truco`,
 * else `~/.local/share/truco`. Directories are created mode 0700.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { err, ok, type Result } from 'neverthrow';

export interface DirError {
  type: 'DirError';
  path: string;
  message: string;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.TRUCO_DATA;
  if (own) return path.resolve(own);
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'truco');
  const home = env.HOME || os.homedir();
  return path.join(home, '.local', 'share', 'truco');
}

/** mkdir -p with mode 0700 for the directories it creates; the resolved path on success. */
export function ensureDir(dir: string): Result<string, DirError> {
  const full = path.resolve(dir);
  try {
    fs.mkdirSync(full, { recursive: true, mode: 0o700 });
    if (!fs.statSync(full).isDirectory()) {
      return err({ type: 'DirError', path: full, message: `${full} exists and is not a directory` });
    }
    return ok(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? `${full} (or a parent) exists and is not a directory`
        : `cannot create directory ${full}: ${e instanceof Error ? e.message : String(e)}`;
    return err({ type: 'DirError', path: full, message });
  }
}
