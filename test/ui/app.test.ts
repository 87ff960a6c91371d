/**
 * The UI shell with a fake client, fake conversations and a fake screen: commands reach the
 * client, news from the client reach the screen, the history survives a restart.
 */
import { err, ok, type Result } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import type { KeyProblem, ServerKeyInfo, SessionSnapshot } from '../../runtime/client.ts';
import { silentLogger } from '../../runtime/log.ts';
import { startApp, type App } from '../../ui/app.ts';
import type { ChatLine, ConversationApi, ConversationView, SendError, SessionApi } from '../../ui/chat.ts';
import { openHistory } from '../../ui/history.ts';
import { strings } from '../../ui/i18n.ts';
import type { MouseEvent, ScreenPort } from '../../ui/screen.ts';
import type { SessionState } from '../../ui/session-view.ts';
import type { Key } from '../../ui/state.ts';
import { frameText, type Frame } from '../../ui/view.ts';
import { tempDir } from '../support/server.ts';
import { BIA, clock, ME, T0 } from './fixtures.ts';

class FakeClient implements SessionApi {
  calls: string[] = [];
  stopped = false;
  serverKeyInfo: ServerKeyInfo | null = null;
  keyProblem: KeyProblem | null = null;
  private snap = FakeClient.snapshot('signedOut', {});
  private fns = new Set<(s: SessionSnapshot) => void>();

  static snapshot(state: SessionState, c: { email?: string; roster?: string[]; kickReason?: string; error?: { reason: string } }): SessionSnapshot {
    return {
      value: state === 'online' ? { online: { link: { live: 'hearing' }, presence: 'idle' } } : state,
      context: {
        email: c.email ?? null,
        error: c.error ?? null,
        kickReason: c.kickReason ?? null,
        signedOutReason: null,
        roster: { members: new Map((c.roster ?? []).map((e) => [e, {}])) },
      },
    } as unknown as SessionSnapshot;
  }

  set(state: SessionState, c: Parameters<typeof FakeClient.snapshot>[1] = {}): void {
    this.snap = FakeClient.snapshot(state, c);
    for (const f of this.fns) f(this.snap);
  }

  signUp(email: string, password: string): void {
    this.calls.push(`signup ${email} ${password}`);
  }
  logIn(email: string, password: string): void {
    this.calls.push(`login ${email} ${password}`);
  }
  logOut(): void {
    this.calls.push('logout');
  }
  getSnapshot(): SessionSnapshot {
    return this.snap;
  }
  subscribe(fn: (s: SessionSnapshot) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

class FakeChat implements ConversationApi {
  views = new Map<string, ConversationView>();
  calls: string[] = [];
  refuse: SendError['reason'] | null = null;
  private fns = new Set<(all: ReadonlyMap<string, ConversationView>) => void>();
  private n = 0;

  private update(peer: string, f: (v: ConversationView) => ConversationView): void {
    const v = this.views.get(peer) ?? { peer, connected: true, canSend: true, reason: null, lines: [], unread: 0 };
    this.views = new Map(this.views).set(peer, f(v));
    for (const fn of this.fns) fn(this.views);
  }
  openConversation(email: string): void {
    this.calls.push(`open ${email}`);
    this.update(email, (v) => v);
  }
  send(email: string, text: string): Result<string, SendError> {
    this.calls.push(`send ${email} ${text}`);
    if (this.refuse) return err({ type: 'SendError', reason: this.refuse });
    const id = `out${++this.n}`;
    this.update(email, (v) => ({ ...v, lines: [...v.lines, { kind: 'message', id, direction: 'out', text, at: T0 + this.n, state: 'pending' }] }));
    return ok(id);
  }
  retry(email: string, id: string): Result<void, SendError> {
    this.calls.push(`retry ${email} ${id}`);
    return ok(undefined);
  }
  markRead(email: string): void {
    this.calls.push(`markRead ${email}`);
    this.update(email, (v) => ({ ...v, unread: 0 }));
  }
  conversations(): ReadonlyMap<string, ConversationView> {
    return this.views;
  }
  subscribeConversations(fn: (all: ReadonlyMap<string, ConversationView>) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  /** a message from the peer arrives */
  receive(peer: string, text: string): void {
    const line: ChatLine = { kind: 'message', id: `in${++this.n}`, direction: 'in', text, at: T0 + this.n, state: 'delivered' };
    this.update(peer, (v) => ({ ...v, lines: [...v.lines, line], unread: v.unread + 1 }));
  }
  setState(peer: string, id: string, state: 'delivered' | 'failed'): void {
    this.update(peer, (v) => ({ ...v, lines: v.lines.map((l) => (l.kind === 'message' && l.id === id ? { ...l, state } : l)) }));
  }
}

class FakeScreen implements ScreenPort {
  frames: Frame[] = [];
  bells = 0;
  destroyed = false;
  keyFn: ((k: Key) => void) | null = null;
  mouseFn: ((m: MouseEvent) => void) | null = null;
  constructor(
    public c = 100,
    public r = 30,
  ) {}
  cols = () => this.c;
  rows = () => this.r;
  draw(f: Frame): void {
    this.frames.push(f);
  }
  bell(): void {
    this.bells++;
  }
  onKey(fn: (k: Key) => void): void {
    this.keyFn = fn;
  }
  onMouse(fn: (m: MouseEvent) => void): void {
    this.mouseFn = fn;
  }
  onResize(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  text(): string {
    const f = this.frames[this.frames.length - 1];
    return f ? frameText(f, this.c, this.r).join('\n') : '';
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(dir = tempDir('truco-app-')) {
  const client = new FakeClient();
  const chat = new FakeChat();
  const screen = new FakeScreen();
  let quitCalled = 0;
  const app = startApp({
    client,
    chat,
    screen,
    t: strings('en'),
    server: '127.0.0.1:54319',
    knownServersFile: `${dir}/known_servers`,
    history: (email) => openHistory(dir, email),
    log: silentLogger,
    now: () => T0,
    clock,
    onQuit: () => quitCalled++,
  });
  return { client, chat, screen, app, dir, quits: () => quitCalled };
}

function type(app: App, s: string): void {
  for (const c of s) {
    if (c.length === 2) {
      app.key({ ch: c[0] });
      app.key({ ch: c[1] });
    } else app.key({ ch: c, name: /[a-z0-9]/i.test(c) ? c.toLowerCase() : undefined });
  }
}
const enter = (app: App) => app.key({ name: 'return' });

describe('the UI shell', () => {
  it('logs in through the client and shows the main screen once online', async () => {
    const { client, screen, app } = setup();
    await tick();
    expect(screen.text()).toContain('[ Log in ]');
    type(app, ME);
    app.key({ name: 'tab' });
    type(app, 'a good password');
    enter(app);
    expect(client.calls).toEqual([`login ${ME} a good password`]);
    client.serverKeyInfo = { fingerprint: 'SHA256:xyz', status: 'pinned' };
    client.set('online', { email: ME, roster: [ME, BIA] });
    await tick();
    const text = screen.text();
    expect(text).toContain('Logged in as ana@t.io.');
    expect(text).toContain('SHA256:xyz is now pinned');
    expect(text).toContain('Online (1)');
    await app.quit();
  });

  it('rings the bell and adds a buffer for a message elsewhere; the buffer in view is marked read', async () => {
    const { client, chat, screen, app } = setup();
    client.set('online', { email: ME, roster: [ME, BIA] });
    chat.receive(BIA, 'psst');
    await tick();
    expect(screen.bells).toBe(1);
    expect(app.ui.buffers).toEqual([BIA]);
    expect(screen.text()).toContain(`${BIA} wrote to you: Alt+2 opens the conversation.`);
    expect(screen.text()).toContain(`2 ${BIA} (1)`);
    app.key({ name: '2', meta: true });
    expect(chat.calls).toContain(`markRead ${BIA}`);
    chat.receive(BIA, 'again');
    await tick();
    expect(screen.bells).toBe(1); // in view: no bell, read at once
    expect(chat.views.get(BIA)?.unread).toBe(0);
    // /bell off silences it
    type(app, '/bell off');
    enter(app);
    app.key({ name: '1', meta: true });
    chat.receive(BIA, 'quiet');
    await tick();
    expect(screen.bells).toBe(1);
    await app.quit();
  });

  it('a refused send puts the text back in the input line and says why', async () => {
    const { client, chat, screen, app } = setup();
    client.set('online', { email: ME, roster: [ME, BIA] });
    enter(app); // opens bia from the roster
    chat.refuse = 'not_online';
    type(app, 'important');
    enter(app);
    await tick();
    expect(chat.calls).toContain(`send ${BIA} important`);
    expect(screen.text()).toContain('You are not online: not sent.');
    expect(screen.text().split('\n')[29]).toBe('[bia@t.io] important');
    await app.quit();
  });

  it('keeps the history: a restart shows earlier messages, a pending one comes back failed and Ctrl+R sends it again', async () => {
    const first = setup();
    first.client.set('online', { email: ME, roster: [ME, BIA] });
    enter(first.app);
    type(first.app, 'olá 👋');
    enter(first.app);
    type(first.app, 'never acked');
    enter(first.app);
    first.chat.setState(BIA, 'out1', 'delivered');
    first.chat.receive(BIA, 'oi!');
    await tick();
    expect(first.screen.text()).toMatch(/✓ ana@t\.io │ olá 👋/);
    await first.app.quit();
    expect(first.client.stopped).toBe(true);
    expect(first.screen.destroyed).toBe(true);
    expect(first.quits()).toBe(1);

    const second = setup(first.dir);
    second.client.set('online', { email: ME, roster: [ME, BIA] });
    enter(second.app);
    await tick();
    const text = second.screen.text();
    expect(text).toMatch(/✓ ana@t\.io │ olá 👋/);
    expect(text).toMatch(/✗ ana@t\.io │ never acked/);
    expect(text).toMatch(/bia@t\.io │ oi!/);
    expect(text).toContain('earlier messages');
    second.app.key({ name: 'r', ctrl: true });
    await tick();
    expect(second.chat.calls).toContain(`send ${BIA} never acked`);
    expect(second.screen.text().match(/never acked/g)).toHaveLength(1);
    await second.app.quit();
  });

  it('Ctrl+R retries the failed messages of the conversation in view', async () => {
    const { client, chat, app } = setup();
    client.set('online', { email: ME, roster: [ME, BIA] });
    enter(app);
    type(app, 'one');
    enter(app);
    chat.setState(BIA, 'out1', 'failed');
    app.key({ name: 'r', ctrl: true });
    expect(chat.calls).toContain(`retry ${BIA} out1`);
    await app.quit();
  });

  it('a view scrolled back stays put while new lines arrive', async () => {
    const { client, chat, app, screen } = setup();
    client.set('online', { email: ME, roster: [ME, BIA] });
    enter(app);
    for (let i = 0; i < 60; i++) chat.receive(BIA, `line ${i}`);
    await tick();
    app.key({ name: 'pageup' });
    await tick();
    const before = screen.text().split('\n').slice(1, 27).join('\n');
    chat.receive(BIA, 'new one');
    chat.receive(BIA, 'and another');
    await tick();
    expect(screen.text().split('\n').slice(1, 27).join('\n')).toBe(before);
    expect(screen.text()).toContain('more below');
    await app.quit();
  });

  it('quits once even when asked twice, and the kicked screen\'s q quits too', async () => {
    const { client, app, quits, screen } = setup();
    client.set('kicked', { email: ME, kickReason: 'elsewhere' });
    await tick();
    expect(screen.text()).toContain('Logged in elsewhere');
    app.key({ ch: 'q', name: 'q' });
    await app.quit();
    await app.quit();
    expect(quits()).toBe(1);
  });
});
