/**
 * `npm run test:faults [-- --full] [vitest filters…]`: runs the fault suite (test/faults/*.fault.ts)
 * under vitest, then prints the table of figures every scenario recorded and removes any
 * namespace a crashed run left behind. `--full` (or TRUCO_FULL=1) runs the full lengths.
 * It needs root, ip, iptables and tcpdump; without them it fails (it never skips).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFigures, table } from './lib/figures.ts';
import { checkPrerequisites, listOurs, sweepStale } from './lib/netns.ts';
import { ROOT, tempDir } from './lib/procs.ts';

const argv = process.argv.slice(2);
const full = argv.includes('--full') || process.env.TRUCO_FULL === '1';
const rest = argv.filter((a) => a !== '--full');

const problem = checkPrerequisites();
if (problem) {
  process.stderr.write(`test:faults: cannot run: ${problem}\n`);
  process.exit(1);
}
const stale = sweepStale();
if (stale.length) process.stderr.write(`test:faults: removed namespaces left by earlier runs: ${stale.join(', ')}\n`);

const figures = join(tempDir('truco-figures-'), 'figures.jsonl');
const started = Date.now();
const child = spawn(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/faults/vitest.config.ts', ...rest], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, TRUCO_FIGURES: figures, TRUCO_FULL: full ? '1' : '0' },
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  const leftover = sweepStale();
  const ours = listOurs().filter((n) => !leftover.includes(n));
  const rows = readFigures(figures);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const text = [
    '',
    `## truco fault suite — ${full ? 'full' : 'shortened (CI)'} run, ${new Date().toISOString().slice(0, 16)}Z, ${minutes} min`,
    '',
    table(rows),
    '',
  ].join('\n');
  process.stdout.write(text);
  try {
    mkdirSync(join(ROOT, 'test/artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test/artifacts', `faults-${full ? 'full' : 'short'}.md`), text);
  } catch {
    /* best effort */
  }
  if (leftover.length) process.stdout.write(`test:faults: cleaned up namespaces a test left behind: ${leftover.join(', ')}\n`);
  if (ours.length) process.stdout.write(`test:faults: namespaces still present (another run?): ${ours.join(', ')}\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
