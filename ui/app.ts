/**
 * The terminal client's shell: it holds the UI state, listens to the headless client (session
 * snapshots, conversations), keeps the local history, and runs the commands the pure key
 * handler asks for. Drawing goes through a ScreenPort (blessed in ui/screen.ts, a fake in
 * tests). It adds no protocol logic: everything about the network is the client's.
 */
import type { Result } from 'neverthrow';
import type { Logger } from '../runtime/log.ts';
import type { ChatLineMessage, ConversationApi, ConversationView, SessionApi } from './chat.ts';
import { lineKey, type History, type HistoryError, type StoredMessage } from './history.ts';
import type { Strings } from './i18n.ts';
import type { MouseEvent, ScreenPort } from './screen.ts';
import { sessionView, type SessionView } from './session-view.ts';
import * as S from './state.ts';
import { chatRowCount, hitAt, keyInfoText, render, type Frame, type ViewInput } from './view.ts';

export interface AppOptions {
  client: SessionApi;
  chat: ConversationApi | null;
  screen: ScreenPort;
  t: Strings;
  /** the server as the user named it */
  server: string;
  knownServersFile: string;
  history: ((email: string) => Result<History, HistoryError>) | null;
  inspectorUrl?: string | null;
  bell?: boolean;
  log: Logger;
  now?: () => number;
  clock?: (at: number) => string;
  /** lines for the home buffer from the start (e.g. an inspector warning) */
  notices?: readonly string[];
  /** called once the app has logged out and released the terminal */
  onQuit: () => void;
  /** how long a graceful logout may take before quitting anyway */
  quitTimeoutMs?: number;
}

export interface App {
  readonly ui: S.UiState;
  frame(): Frame;
  /** feeds a key as if typed (tests) */
  key(k: S.Key): void;
  /** logs out, closes the history and the screen, then calls onQuit */
  quit(): Promise<void>;
}

const EMPTY: ReadonlyMap<string, ConversationView> = new Map();

export function startApp(o: AppOptions): App {
  const now = o.now ?? Date.now;
  let ui = S.initialUi({ bell: o.bell ?? true });
  for (const n of o.notices ?? []) ui = S.addNotice(ui, n, now(), 'error');
  let snap = o.client.getSnapshot();
  let session: SessionView = sessionView(snap);
  let conversations: ReadonlyMap<string, ConversationView> = o.chat?.conversations() ?? EMPTY;
  let history: History | null = null;
  let historyOwner: string | null = null;
  /** rows loaded from the history when a buffer was first shown in this login */
  const stored = new Map<string, StoredMessage[]>();
  /** delivery state last written for each live message key */
  const written = new Map<string, string>();
  const lastUnread = new Map<string, number>();
  let lastFrame: Frame | null = null;
  let scheduled = false;
  let quitting: Promise<void> | null = null;

  // ---- history ------------------------------------------------------------------------------------
  function openHistoryFor(email: string): void {
    if (historyOwner === email) return;
    history?.close();
    history = null;
    historyOwner = email;
    stored.clear();
    written.clear();
    if (!o.history) return;
    const h = o.history(email);
    if (h.isErr()) {
      o.log.error('history.open_failed', { error: h.error.message });
      ui = S.addNotice(ui, h.error.message, now(), 'error');
      return;
    }
    history = h.value;
  }

  /** per peer: the answer of earlier() and what it was computed from */
  const earlierCache = new Map<string, { rows: StoredMessage[]; live: readonly unknown[]; out: StoredMessage[] }>();

  function earlier(peer: string): readonly ChatLineMessage[] {
    if (!history) return [];
    let rows = stored.get(peer);
    if (!rows) {
      const r = history.messages(peer);
      rows = r.isOk() ? r.value : [];
      if (r.isErr()) o.log.error('history.read_failed', { error: r.error.message });
      stored.set(peer, rows);
    }
    const lines = conversations.get(peer)?.lines ?? [];
    const cached = earlierCache.get(peer);
    if (cached && cached.rows === rows && cached.live === lines) return cached.out;
    const live = new Set(lines.filter((l) => l.kind === 'message').map((l) => lineKey(l as ChatLineMessage)));
    // a message still pending when its session ended was never acknowledged: it failed
    const out = rows.filter((r) => !live.has(r.key)).map((r) => (r.state === 'pending' ? { ...r, state: 'failed' as const } : r));
    earlierCache.set(peer, { rows, live: lines, out });
    return out;
  }

  function persist(all: ReadonlyMap<string, ConversationView>): void {
    if (!history) return;
    for (const [peer, conv] of all) {
      const changed: ChatLineMessage[] = [];
      for (const l of conv.lines) {
        if (l.kind !== 'message') continue;
        const k = `${peer}\u0000${lineKey(l)}`;
        if (written.get(k) === l.state) continue;
        written.set(k, l.state);
        changed.push(l);
      }
      const r = history.record(peer, changed);
      if (r.isErr()) o.log.error('history.write_failed', { error: r.error.message });
    }
  }

  // ---- drawing ------------------------------------------------------------------------------------
  function viewInput(): ViewInput {
    return {
      t: o.t,
      cols: o.screen.cols(),
      rows: o.screen.rows(),
      server: o.server,
      session,
      conversations,
      earlier,
      ui,
      keyInfo: o.client.serverKeyInfo,
      keyProblem: o.client.keyProblem,
      knownServersFile: o.knownServersFile,
      inspectorUrl: o.inspectorUrl ?? null,
      now: now(),
      ...(o.clock ? { clock: o.clock } : {}),
    };
  }

  function draw(): void {
    scheduled = false;
    try {
      lastFrame = render(viewInput());
      o.screen.draw(lastFrame);
    } catch (e) {
      o.log.error('ui.draw_failed', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(draw);
  }

  const ctx = (): S.Ctx => ({ t: o.t, session, conversations, pageRows: lastFrame?.pageRows ?? 10, now: now() });

  // ---- commands -----------------------------------------------------------------------------------
  function run(cmds: S.Cmd[]): void {
    for (const c of cmds) {
      switch (c.type) {
        case 'login':
          o.log.info('ui.login', { email: c.email });
          o.client.logIn(c.email, c.password);
          break;
        case 'signup':
          o.log.info('ui.signup', { email: c.email });
          o.client.signUp(c.email, c.password);
          break;
        case 'open':
          if (!o.chat) ui = S.flash(ui, o.t.chatUnavailable, now());
          else o.chat.openConversation(c.peer);
          break;
        case 'markRead':
          if ((conversations.get(c.peer)?.unread ?? 0) > 0) o.chat?.markRead(c.peer);
          break;
        case 'send': {
          if (!o.chat) {
            ui = S.flash(ui, o.t.chatUnavailable, now());
            break;
          }
          const r = o.chat.send(c.peer, c.text);
          if (r.isErr()) {
            // the text goes back into the input line: nothing typed is lost
            const input = S.inputOf(ui, c.peer);
            ui = { ...ui, inputs: { ...ui.inputs, [c.peer]: { ...input, field: { text: c.text, cursor: c.text.length } } } };
            ui = S.flash(ui, o.t.sendError[r.error.reason] ?? r.error.reason, now());
          }
          break;
        }
        case 'retry':
          retry(c.peer);
          break;
        case 'quit':
          void quit();
          break;
      }
    }
  }

  function retry(peer: string): void {
    if (!o.chat) return;
    let n = 0;
    for (const l of conversations.get(peer)?.lines ?? []) {
      if (l.kind === 'message' && l.direction === 'out' && l.state === 'failed') {
        const r = o.chat.retry(peer, l.id);
        n++;
        if (r.isErr()) ui = S.flash(ui, o.t.sendError[r.error.reason] ?? r.error.reason, now());
      }
    }
    // failed messages of an earlier session are sent again as new messages
    for (const m of earlier(peer)) {
      if (m.direction !== 'out' || m.state !== 'failed') continue;
      n++;
      const r = o.chat.send(peer, m.text);
      if (r.isErr()) {
        ui = S.flash(ui, o.t.sendError[r.error.reason] ?? r.error.reason, now());
        break;
      }
      const key = (m as StoredMessage).key;
      history?.forget(peer, key);
      stored.set(peer, (stored.get(peer) ?? []).filter((s) => s.key !== key));
    }
    if (n === 0) ui = S.flash(ui, o.t.noFailed, now());
  }

  function apply(step: S.Step): void {
    ui = step.ui;
    run(step.cmds);
    schedule();
  }

  // ---- the client's news --------------------------------------------------------------------------
  function onSession(next: typeof snap): void {
    const before = session;
    snap = next;
    session = sessionView(next);
    const wasOnline = before.state === 'online' || before.state === 'reconnecting' || before.state === 'signingOut';
    if (session.state === 'online' && !wasOnline && session.email) {
      if (historyOwner !== null && historyOwner !== session.email) {
        // another account: its own buffers and inputs
        ui = { ...S.initialUi({ bell: ui.bell }), dismissed: false };
      }
      openHistoryFor(session.email);
      stored.clear();
      ui = { ...ui, dismissed: false };
      ui = S.addNotice(ui, o.t.welcome(session.email), now());
      const k = keyInfoText(o.t, o.client.serverKeyInfo);
      if (k) ui = S.addNotice(ui, k, now());
      o.log.info('ui.online', { email: session.email });
    }
    if (session.state !== before.state) o.log.info('ui.session', { state: session.state });
    schedule();
  }

  function onConversations(all: ReadonlyMap<string, ConversationView>): void {
    const rowsBefore = ui.active !== S.HOME && (ui.scroll[ui.active] ?? 0) > 0 ? chatRowCount(viewInput()) : null;
    conversations = all;
    persist(all);
    let ring = false;
    for (const [peer, conv] of all) {
      const prev = lastUnread.get(peer) ?? 0;
      lastUnread.set(peer, conv.unread);
      if (conv.unread > 0 && !ui.buffers.includes(peer)) {
        ui = S.ensureBuffer(ui, peer);
        const n = ui.buffers.indexOf(peer) + 2;
        ui = S.addNotice(ui, o.t.newConversation(peer, n), now());
      }
      const visible = peer === ui.active && S.screenOf(session, ui) === 'main';
      if (visible && conv.unread > 0) o.chat?.markRead(peer);
      else if (conv.unread > prev) ring = true;
    }
    if (rowsBefore !== null) {
      // keep a scrolled-back view where it is while new lines arrive
      const grown = chatRowCount(viewInput()) - rowsBefore;
      if (grown > 0) ui = { ...ui, scroll: { ...ui.scroll, [ui.active]: (ui.scroll[ui.active] ?? 0) + grown } };
    }
    if (ring && ui.bell) o.screen.bell();
    schedule();
  }

  // ---- input --------------------------------------------------------------------------------------
  function onKey(k: S.Key): void {
    apply(S.onKey(ui, k, ctx()));
  }

  function onMouse(m: MouseEvent): void {
    if (m.kind === 'wheel') {
      ui = S.onWheel(ui, m.dir, ctx());
      schedule();
      return;
    }
    const f = lastFrame;
    const hit = f ? hitAt(f, m.x, m.y) : null;
    if (hit) apply(S.onClick(ui, hit, ctx()));
  }

  async function quit(): Promise<void> {
    if (quitting) return quitting;
    ui = { ...ui, quitting: true };
    draw();
    quitting = (async () => {
      const timeout = new Promise<void>((r) => setTimeout(r, o.quitTimeoutMs ?? 3000).unref());
      await Promise.race([o.client.stop().catch((e: unknown) => o.log.error('ui.stop_failed', { error: String(e) })), timeout]);
      unsubSession();
      unsubChat();
      clearInterval(tick);
      history?.close();
      history = null;
      o.screen.destroy();
      o.log.info('ui.quit');
      o.onQuit();
    })();
    return quitting;
  }

  const unsubSession = o.client.subscribe(onSession);
  const unsubChat = o.chat?.subscribeConversations(onConversations) ?? (() => {});
  o.screen.onKey(onKey);
  o.screen.onMouse(onMouse);
  o.screen.onResize(() => draw());
  // the status bar's clock
  const tick = setInterval(schedule, 15_000);
  tick.unref();
  draw();

  return {
    get ui() {
      return ui;
    },
    frame: () => lastFrame ?? render(viewInput()),
    key: onKey,
    quit,
  };
}
