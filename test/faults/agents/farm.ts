/**
 * A farm of real headless clients (runtime/client.ts) in one process, each with its own UDP
 * socket and data directory, driven by JSON lines on stdin and reporting JSON lines on stdout.
 * Run inside the fault namespace: `node --import tsx farm.ts HOST PORT DATAROOT`.
 *
 * Commands:
 *   {"cmd":"add","id","email","password","signup":bool,"app":bool}  create a client and sign up /
 *       log in; with "app" the terminal client's shell (ui/app.ts, its local history included)
 *       runs on it with a screen that draws nothing
 *   {"cmd":"login"|"logout","id", …}   {"cmd":"open","id","peer"}   {"cmd":"send","id","peer","text"}
 *   {"cmd":"stats"}   {"cmd":"exit"}
 * Events (every one carries t = Date.now()):
 *   {"ev":"ready","pid"}   {"ev":"added","id","port"}
 *   {"ev":"state","id","state","kick","error","cause"}     top-level session state changes
 *   {"ev":"roster","id","add":[…],"remove":[…]}            roster differences
 *   {"ev":"sent","id","peer","mid","text"} | {"ev":"refused","id","peer","text","reason"}
 *   {"ev":"line","id","peer","mid","kind","dir","text","state","event"}  a new conversation line,
 *       or a message line whose delivery state changed
 *   {"ev":"stats","clients":{id:{state,roster,dropped,trucos,maxGap}},"mem":{…}}
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createChatClient, type ChatClient, type ConversationView, type SessionSnapshot } from '../../../runtime/client.ts';
import { KNOWN_SERVERS_FILE } from '../../../runtime/known-servers.ts';
import { createLogger } from '../../../runtime/log.ts';
import { startApp } from '../../../ui/app.ts';
import { openHistory } from '../../../ui/history.ts';
import { strings } from '../../../ui/i18n.ts';
import type { ScreenPort } from '../../../ui/screen.ts';

const [host = '127.0.0.1', port = '0', root = '.'] = process.argv.slice(2);
const log = createLogger({ level: process.env.TRUCO_FARM_LOG === 'debug' ? 'debug' : 'info', base: { proc: 'farm', pid: process.pid } });

interface Entry {
  client: ChatClient;
  state: string;
  roster: Set<string>;
  rosterRef: unknown;
  trucos: number;
  lastTruco: number;
  gaps: number[];
}
const clients = new Map<string, Entry>();

const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');
const top = (s: SessionSnapshot) => (typeof s.value === 'string' ? s.value : (Object.keys(s.value)[0] ?? '?'));

/** A screen that draws nothing: the app's state, history and commands run as in the terminal. */
const nullScreen: ScreenPort = {
  cols: () => 100,
  rows: () => 30,
  draw() {},
  bell() {},
  onKey() {},
  onMouse() {},
  onResize() {},
  destroy() {},
};

/** Reports new lines and delivery-state changes of every conversation of client `id`. */
function watchConversations(id: string, client: ChatClient): void {
  const seen = new Map<string, string>();
  client.subscribeConversations((all: ReadonlyMap<string, ConversationView>) => {
    for (const [peer, conv] of all) {
      for (const l of conv.lines) {
        const key = `${peer}\u0000${l.kind}:${l.id}`;
        const state = l.kind === 'message' ? l.state : l.event;
        if (seen.get(key) === state) continue;
        seen.set(key, state);
        if (l.kind === 'message') out({ ev: 'line', id, peer, mid: l.id, kind: 'message', dir: l.direction, text: l.text, state: l.state, at: l.at });
        else out({ ev: 'line', id, peer, mid: l.id, kind: 'system', event: l.event, at: l.at });
      }
    }
  });
}

async function add(id: string, email: string, password: string, signup: boolean, app = false): Promise<void> {
  const e: Partial<Entry> = { state: '', roster: new Set(), rosterRef: null, trucos: 0, lastTruco: 0, gaps: [] };
  const client = await createChatClient({
    server: { host, port: Number(port) },
    dataDir: join(root, id),
    logger: log.child({ client: id }),
    inspect: (ev) => {
      if (ev.type === '@xstate.event' && ev.event.type === 'SERVER.TRUCO') {
        const now = performance.now();
        if (e.lastTruco) e.gaps!.push(now - e.lastTruco);
        if (e.gaps!.length > 4096) e.gaps!.splice(0, 2048);
        e.lastTruco = now;
        e.trucos!++;
      }
    },
  });
  e.client = client;
  const entry = e as Entry;
  clients.set(id, entry);
  client.subscribe((s) => {
    const st = top(s);
    if (st !== entry.state) {
      entry.state = st;
      out({ ev: 'state', id, state: st, kick: s.context.kickReason, error: s.context.error?.reason ?? null, cause: s.context.reconnectCause });
    }
    const members = s.context.roster.members;
    if (members !== entry.rosterRef) {
      entry.rosterRef = members;
      const add: string[] = [];
      const remove: string[] = [];
      for (const k of members.keys()) if (!entry.roster.has(k)) add.push(k);
      for (const k of entry.roster) if (!members.has(k)) remove.push(k);
      if (add.length || remove.length) {
        for (const k of add) entry.roster.add(k);
        for (const k of remove) entry.roster.delete(k);
        out({ ev: 'roster', id, add, remove });
      }
    }
  });
  watchConversations(id, client);
  if (app) {
    startApp({
      client,
      chat: client,
      screen: nullScreen,
      t: strings('en'),
      server: `${host}:${port}`,
      knownServersFile: join(root, id, KNOWN_SERVERS_FILE),
      history: (who) => openHistory(join(root, id), who),
      log: log.child({ client: id, part: 'ui' }),
      onQuit: () => {},
    });
  }
  out({ ev: 'added', id, port: client.address.port });
  if (signup) client.signUp(email, password);
  else client.logIn(email, password);
}

// event-loop lag: how late a 100 ms timer fires (a blocked loop misses probes, whoever blocks it)
let lastTick = performance.now();
let maxLag = 0;
setInterval(() => {
  const now = performance.now();
  maxLag = Math.max(maxLag, now - lastTick - 100);
  lastTick = now;
}, 100);

function stats(): Record<string, unknown> {
  const per: Record<string, unknown> = {};
  for (const [id, e] of clients) {
    per[id] = {
      state: e.state,
      roster: e.roster.size,
      dropped: e.client.stats.dropped,
      trucos: e.trucos,
      maxGap: e.gaps.length ? Math.max(...e.gaps) : 0,
      minGap: e.gaps.length ? Math.min(...e.gaps) : 0,
    };
    e.gaps.length = 0;
  }
  const lag = maxLag;
  maxLag = 0;
  return { clients: per, mem: process.memoryUsage(), lagMs: Math.round(lag) };
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (text) => {
  let c: { cmd?: string; id?: string; email?: string; password?: string; signup?: boolean; app?: boolean; peer?: string; text?: string };
  try {
    c = JSON.parse(text);
  } catch {
    return;
  }
  const e = c.id ? clients.get(c.id) : undefined;
  switch (c.cmd) {
    case 'add':
      add(c.id ?? '', c.email ?? '', c.password ?? '', c.signup ?? false, c.app ?? false).catch((err) => out({ ev: 'error', id: c.id, error: String(err) }));
      return;
    case 'open':
      e?.client.openConversation(c.peer ?? '');
      return;
    case 'send': {
      if (!e) return;
      const r = e.client.send(c.peer ?? '', c.text ?? '');
      if (r.isOk()) out({ ev: 'sent', id: c.id, peer: c.peer, mid: r.value, text: c.text });
      else out({ ev: 'refused', id: c.id, peer: c.peer, text: c.text, reason: r.error.reason });
      return;
    }
    case 'login':
      e?.client.logIn(c.email ?? '', c.password ?? '');
      return;
    case 'logout':
      e?.client.logOut();
      return;
    case 'stats':
      out({ ev: 'stats', ...stats() });
      return;
    case 'exit':
      void Promise.all([...clients.values()].map((x) => x.client.stop())).then(() => process.exit(0));
      return;
  }
});
rl.on('close', () => process.exit(0));
process.on('uncaughtException', (err) => {
  out({ ev: 'uncaught', error: String(err?.stack ?? err) });
  process.exit(70);
});
out({ ev: 'ready', pid: process.pid });
