/**
 * `npm run charts`: writes machines/README.md, one section per machine exported by
 * machines/*.ts, each with its story and a Mermaid `stateDiagram-v2` generated from the machine
 * definition (walked from `machine.root`, see definition.ts and mermaid.ts).
 *
 *   npm run charts              write machines/README.md
 *   npm run charts -- --check   exit 1 if machines/README.md is stale (CI, tests)
 *
 * The stories are written here by hand. A machine without one gets the first paragraph of its
 * file's leading comment, so adding a machine never breaks the build; write it a story then.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { describeMachine, isMachine } from './definition.ts';
import { toMermaid } from './mermaid.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MACHINES_DIR = join(ROOT, 'machines');
export const README = join(MACHINES_DIR, 'README.md');

/** One paragraph per machine id: what it is for and how it moves. */
export const STORIES: Record<string, string> = {
  registry:
    "The server's online list. One `registry` actor holds the versioned presence log (who is " +
    'online, at which address, with which peer key) and spawns one `liveness` child per online ' +
    'user. A login or a resume joins (a user already online keeps the one child, woken up if ' +
    'suspect), a roaming client moves, a BYE or a replacing login leaves, and a liveness child ' +
    'that gives up reports `LIVENESS.OFFLINE`: each change bumps the presence version, which the ' +
    'host turns into deltas on the next probes. All of it happens in *running*; the per-datagram ' +
    "hot path never wakes it, because answers to probes only touch the host's session table.",
  livenessPool:
    "A shard of the registry's children. The registry starts a fixed number of pools and hashes " +
    "each user's e-mail to one of them; the pool spawns, wakes and stops that user's `liveness` " +
    'actor (`POOL.ADD`, `POOL.LIFE`, `POOL.REMOVE`) and, when a child gives up, stops it and ' +
    'passes its `LIVENESS.OFFLINE` on to the registry. It has no states of its own: it exists ' +
    "because XState copies an actor's children on every spawn and stop, so a single parent of " +
    '10 000 children would pay for all of them at every join and leave.',
  liveness:
    'Whether one online user is still there. The host sends a *truco* probe every interval and ' +
    'counts the unanswered ones itself, so a healthy user costs the machine nothing. After ' +
    '`misses` silent probes it sends `LIVENESS.MISSED` and the user is *suspect*: the machine ' +
    're-probes quickly (`reprobe`, every `suspectInterval`). Any authenticated datagram from the ' +
    'user (`LIVENESS.LIFE`) makes it *alive* again; after `suspectProbes` re-probes without one ' +
    'it is *offline*, a final state that tells the registry to drop the user. The suspicion phase ' +
    'is what keeps a lossy link from evicting a healthy user.',
  session:
    "The client's life with the server. Signing up or logging in invokes a handshake actor with " +
    "the credentials, which live only in that actor's input and never in context. Success enters " +
    '*online*, where two regions run side by side: *link* answers every *truco* with a *seis* and ' +
    're-arms a watchdog (after two silent intervals it turns *quiet* and sends an unsolicited ' +
    '*seis* every interval, so a server probing an address we no longer have hears us from the ' +
    'new one), and *presence* keeps the roster in sync, paging through it when a probe ' +
    'says the client is behind. A restarted server that restored the session may first ask it ' +
    'to wait for its turn (`SERVER.HOLD`): *link* goes *held*, with no watchdog and no ' +
    "keepalives, until the server's `SERVER.STALE` or the end of the wait it named (named delay " +
    '`hold`). A silent server, a restarted one (`SERVER.STALE`) or a shutdown ' +
    'kick makes it *reconnecting*, which resumes with the ticket until a give-up timer; a login ' +
    'elsewhere or a revoked ticket makes it *kicked*, and the context says why. Logging out goes ' +
    'through *signingOut*, which waits for the BYE to be acknowledged.',
  conversation:
    'One chat with one peer, spawned by the session. *opening* decides at once (`always`) from ' +
    "the roster, then the machine follows the server's verdict: *connected* while the peer is " +
    'online, *disconnected* otherwise, with a system line in the chat at every change. Each ' +
    'outgoing message is *pending* until the peer acknowledges it, *failed* 9.5 s after it was ' +
    'sent if not: one delayed `GIVE_UP` per conversation (named delay `giveUp`) is armed for the ' +
    'earliest deadline among the pending messages, fails what is due when it fires and re-arms for ' +
    'the next, so many messages in flight cost one timer. The runtime may hand a message to the ' +
    'delivery engine in `send()` itself, ahead of the `SEND.BATCH` transition (the datagram leaves ' +
    'at once); the machine still decides: if it refuses the batch it asks the engine ' +
    '(`cancelDelivery`) to forget what was sent ahead. Acknowledgements, failures and received ' +
    'messages arrive from the runtime in batches, at most 2 ms late and always before any other ' +
    'event reaches the session, and are handled in any state; the runtime shows an ' +
    'acknowledged or received message as soon as its datagram is read, ahead of the batch ' +
    '(`withDelivered`, which a test holds to what the DELIVERY.BATCH then does). Sending is refused, with the ' +
    'reason kept in context, while the peer or our own session is offline; a message still ' +
    'pending when the peer leaves or our session ends fails at once and can be retried.',
};

/** Sections in this order first; any other machine after them, by file and export order. */
const ORDER = ['registry', 'livenessPool', 'liveness', 'session', 'conversation'];

export interface FoundMachine {
  file: string;
  exportName: string;
  machine: AnyStateMachine;
}

/** Every state machine exported by machines/*.ts (each machine object once). */
export async function findMachines(dir = MACHINES_DIR): Promise<FoundMachine[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort();
  const seen = new Set<unknown>();
  const found: FoundMachine[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!isMachine(value) || seen.has(value)) continue;
      seen.add(value);
      found.push({ file, exportName, machine: value });
    }
  }
  const rank = (m: FoundMachine) => {
    const i = ORDER.indexOf(m.machine.id);
    return i < 0 ? ORDER.length : i;
  };
  return found.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i).map(({ m }) => m);
}

/** The first paragraph of a file's leading block comment. */
function leadingParagraph(source: string): string | null {
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!m || !m[1]) return null;
  const text = m[1]
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
  const para = text.split(/\n\s*\n/)[0]?.replace(/\s*\n\s*/g, ' ').trim();
  return para || null;
}

function storyOf(m: FoundMachine, dir: string): string {
  const story = STORIES[m.machine.id];
  if (story) return story;
  const description = (m.machine.root as { description?: string }).description;
  if (description) return description;
  const lead = leadingParagraph(readFileSync(join(dir, m.file), 'utf8'));
  return lead ?? '_No story yet: add one to `STORIES` in runtime/inspector/charts.ts._';
}

export function renderReadme(machines: FoundMachine[], dir = MACHINES_DIR): string {
  const out: string[] = [];
  out.push('# The machines');
  out.push('');
  out.push(
    'Generated by `npm run charts` (runtime/inspector/charts.ts) from the machine definitions: do ' +
      'not edit it by hand, `test/inspector/charts.test.ts` fails when it is stale. To watch the ' +
      'machines run, start the server or the client with `--inspect` and open the printed address.',
  );
  out.push('');
  out.push(
    'Reading the arrows: `EVENT [guard]`; `after NAME (N ms)` is a delayed transition, `always` an ' +
      'eventless one, `onDone SRC` / `onError SRC` the end of an invoked actor; `↻` re-enters the ' +
      'state; `(in X)` means the transition is declared on the nested state X, `→ X` that it ends ' +
      'in the nested state X; `(stays)` is a transition without a target (actions only). Inline ' +
      'guards show as `[guard]`.',
  );
  out.push('');
  for (const m of machines) out.push(`- [${m.machine.id}](#${m.machine.id}) — \`${m.exportName}\` in machines/${m.file}`);
  for (const m of machines) {
    const { diagram, notes } = toMermaid(describeMachine(m.machine));
    out.push('');
    out.push(`## ${m.machine.id}`);
    out.push('');
    out.push(`\`${m.exportName}\` in [machines/${m.file}](${m.file}).`);
    out.push('');
    out.push(storyOf(m, dir));
    out.push('');
    out.push('```mermaid');
    out.push(diagram);
    out.push('```');
    if (notes.length > 0) {
      out.push('');
      out.push('Not drawn as arrows:');
      out.push('');
      for (const n of notes) out.push(`- ${n}`);
    }
  }
  out.push('');
  return out.join('\n');
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const text = renderReadme(await findMachines());
  if (check) {
    let current = '';
    try {
      current = readFileSync(README, 'utf8');
    } catch {
      /* missing: stale */
    }
    if (current !== text) {
      process.stderr.write('machines/README.md is stale: run `npm run charts`\n');
      process.exit(1);
    }
    process.stdout.write('machines/README.md is up to date\n');
    return;
  }
  writeFileSync(README, text);
  process.stdout.write(`wrote ${README}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
