/** Keys and clicks → UI state and commands for the client, without a terminal. */
import { describe, expect, it } from 'vitest';
import { strings } from '../../ui/i18n.ts';
import type { SessionView } from '../../ui/session-view.ts';
import { initialUi, inputOf, onClick, onKey, onWheel, screenOf, type Cmd, type Ctx, type Key, type UiState } from '../../ui/state.ts';
import { BIA, CAIO, conv, convs, ME, online, signedOut, T0 } from './fixtures.ts';

const k = (name: string, extra: Partial<Key> = {}): Key => ({ name, ...extra });
const ch = (c: string): Key => ({ ch: c, name: c.length === 1 && /[a-z0-9]/i.test(c) ? c.toLowerCase() : undefined });
const ENTER = k('return');
const TAB = k('tab');

function ctx(session: SessionView, conversations = convs(), pageRows = 10): Ctx {
  return { t: strings('en'), session, conversations, pageRows, now: T0 };
}

/** Feeds keys one by one; returns the final state and every command asked for. */
function keys(ui: UiState, c: Ctx, ...ks: (Key | string)[]): { ui: UiState; cmds: Cmd[] } {
  const cmds: Cmd[] = [];
  for (const key of ks) {
    const list: Key[] = typeof key === 'string' ? [...key].flatMap((c) => (c.length === 2 ? [ch(c[0] as string), ch(c[1] as string)] : [ch(c)])) : [key];
    for (const one of list) {
      const step = onKey(ui, one, c);
      ui = step.ui;
      cmds.push(...step.cmds);
    }
  }
  return { ui, cmds };
}

describe('the login form', () => {
  const out = ctx(signedOut());

  it('moves with Tab / Shift-Tab and logs in with Enter, the email normalized and the password cleared', () => {
    let r = keys(initialUi(), out, ' Ana@T.io', TAB, 'a good password');
    expect(r.ui.login.focus).toBe(1);
    expect(r.ui.login.password.text).toBe('a good password');
    r = keys(r.ui, out, ENTER);
    expect(r.cmds).toEqual([{ type: 'login', email: ME, password: 'a good password' }]);
    expect(r.ui.login.password.text).toBe('');
    expect(r.ui.login.email.text).toBe(ME);
    const back = keys(initialUi(), out, TAB, TAB, k('tab', { shift: true }));
    expect(back.ui.login.focus).toBe(1);
    expect(keys(initialUi(), out, TAB, TAB, TAB, TAB).ui.login.focus).toBe(0);
  });

  it('a click on a field focuses it; typing then goes there', () => {
    let r = onClick(initialUi(), { kind: 'field', which: 'password' }, out);
    expect(r.ui.login.focus).toBe(1);
    expect(r.cmds).toEqual([]);
    r = keys(r.ui, out, 'secret');
    expect(r.ui.login.password.text).toBe('secret');
    r = onClick(r.ui, { kind: 'field', which: 'email' }, out);
    r = keys(r.ui, out, ME);
    expect(r.ui.login.email.text).toBe(ME);
    // on the main screen a stale field click does nothing
    expect(onClick(initialUi(), { kind: 'field', which: 'email' }, ctx(online(), convs())).ui).toEqual(initialUi());
  });

  it('signs up with Enter (or Space) on the Sign up button', () => {
    const r = keys(initialUi(), out, ME, TAB, 'a good password', TAB, TAB, ENTER);
    expect(r.cmds).toEqual([{ type: 'signup', email: ME, password: 'a good password' }]);
    const space = keys(initialUi(), out, ME, TAB, 'a good password', TAB, TAB, { ch: ' ', name: 'space' });
    expect(space.cmds[0]?.type).toBe('signup');
  });

  it('checks the form before sending: bad email, empty or short password', () => {
    let r = keys(initialUi(), out, 'nobody', TAB, 'a good password', ENTER);
    expect(r.cmds).toEqual([]);
    expect(r.ui.login.error).toBe('An email address needs exactly one @.');
    r = keys(initialUi(), out, ME, ENTER);
    expect(r.ui.login.error).toBe('Enter your password.');
    r = keys(initialUi(), out, ME, TAB, 'short', TAB, TAB, ENTER);
    expect(r.ui.login.error).toBe('That password is too short: use at least 8 characters.');
    expect(r.cmds).toEqual([]);
    // an account made under other rules may still log in with a short password
    expect(keys(initialUi(), out, ME, TAB, 'short', ENTER).cmds).toEqual([{ type: 'login', email: ME, password: 'short' }]);
    // typing clears the complaint
    expect(keys(r.ui, out, TAB, 'x').ui.login.error).toBeNull();
  });

  it('does not send twice while a login is under way', () => {
    const busy = ctx(signedOut({ state: 'authenticating' }));
    expect(keys(initialUi(), busy, ME, TAB, 'a good password', ENTER).cmds).toEqual([]);
  });

  it('the kicked screen: Enter goes back to the form with the email filled in, q quits', () => {
    const kicked = ctx(online({ state: 'kicked', kickReason: 'elsewhere' }));
    expect(screenOf(kicked.session, initialUi())).toBe('kicked');
    const r = keys(initialUi(), kicked, ENTER);
    expect(screenOf(kicked.session, r.ui)).toBe('login');
    expect(r.ui.login.email.text).toBe(ME);
    expect(r.ui.login.focus).toBe(1);
    expect(keys(initialUi(), kicked, 'q').cmds).toEqual([{ type: 'quit' }]);
    const gone = ctx(signedOut({ signedOutReason: 'server_unreachable' }));
    expect(screenOf(gone.session, initialUi())).toBe('gone');
  });
});

describe('the main screen', () => {
  const live = () => ctx(online(), convs(conv(BIA), conv(CAIO, [], { unread: 2 })));

  it('opens a conversation from the roster: filter as you type, Up/Down, Enter', () => {
    let r = keys(initialUi(), live(), 'ca');
    expect(r.ui.filter).toBe('ca');
    r = keys(r.ui, live(), ENTER);
    expect(r.cmds).toEqual([{ type: 'open', peer: CAIO }, { type: 'markRead', peer: CAIO }]);
    expect(r.ui.active).toBe(CAIO);
    expect(r.ui.buffers).toEqual([CAIO]);
    expect(r.ui.focus).toBe('input');
    expect(r.ui.filter).toBe('');
    const down = keys(initialUi(), live(), k('down'), ENTER);
    expect(down.ui.active).toBe(CAIO); // bia, caio: sorted, me left out
    expect(keys(initialUi(), live(), k('down'), k('up'), ENTER).ui.active).toBe(BIA);
  });

  it('a click on a name opens it, a click on a tab shows it', () => {
    let r = onClick(initialUi(), { kind: 'peer', peer: BIA }, live());
    expect(r.cmds[0]).toEqual({ type: 'open', peer: BIA });
    r = onClick(r.ui, { kind: 'tab', buffer: '' }, live());
    expect(r.ui.active).toBe('');
  });

  it('sends what is typed, keeps it in the buffer\'s input history, Up/Down browse it', () => {
    let r = keys(initialUi(), live(), ENTER); // opens bia
    r = keys(r.ui, live(), 'olá 👋', ENTER);
    expect(r.cmds).toEqual([{ type: 'send', peer: BIA, text: 'olá 👋' }]);
    expect(inputOf(r.ui, BIA).field.text).toBe('');
    r = keys(r.ui, live(), 'second', ENTER, 'draft');
    r = keys(r.ui, live(), k('up'));
    expect(inputOf(r.ui, BIA).field.text).toBe('second');
    r = keys(r.ui, live(), k('up'));
    expect(inputOf(r.ui, BIA).field.text).toBe('olá 👋');
    r = keys(r.ui, live(), k('down'), k('down'));
    expect(inputOf(r.ui, BIA).field.text).toBe('draft');
    // another buffer has its own history
    expect(inputOf(r.ui, CAIO).history).toEqual([]);
  });

  it('edits by grapheme: an emoji typed as two UTF-16 halves is one character', () => {
    let r = keys(initialUi(), live(), ENTER, 'a👋b');
    expect(inputOf(r.ui, BIA).field.text).toBe('a👋b');
    r = keys(r.ui, live(), k('left'), k('backspace'));
    expect(inputOf(r.ui, BIA).field.text).toBe('ab');
    r = keys(r.ui, live(), k('home'), k('delete'), k('end'), ' c d');
    expect(inputOf(r.ui, BIA).field.text).toBe('b c d');
    r = keys(r.ui, live(), k('w', { ctrl: true }));
    expect(inputOf(r.ui, BIA).field.text).toBe('b c ');
    r = keys(r.ui, live(), k('u', { ctrl: true }));
    expect(inputOf(r.ui, BIA).field.text).toBe('');
  });

  it('refuses to type or send while the peer is offline, keeping any draft; commands still work', () => {
    const offline = ctx(online(), convs(conv(BIA, [], { connected: false, canSend: false, reason: 'peer_offline' })));
    let r = keys(initialUi(), live(), ENTER, 'draft');
    r = keys(r.ui, offline, 'more', ENTER);
    expect(r.cmds).toEqual([]);
    expect(inputOf(r.ui, BIA).field.text).toBe('draft');
    const empty = keys(initialUi(), live(), ENTER);
    r = keys(empty.ui, offline, 'x', '/quit', ENTER);
    expect(r.cmds).toEqual([{ type: 'quit' }]);
  });

  it('refuses a message over the size limit before sending it', () => {
    let r = keys(initialUi(), live(), ENTER);
    r = { ui: { ...r.ui, inputs: { [BIA]: { field: { text: 'x'.repeat(65537), cursor: 65537 }, history: [], histPos: null, draft: '' } } }, cmds: [] };
    r = keys(r.ui, live(), ENTER);
    expect(r.cmds).toEqual([]);
    expect(r.ui.flash?.text).toBe('Message too long: at most 65536 bytes.');
    expect(inputOf(r.ui, BIA).field.text).toHaveLength(65537);
  });

  it('jumps between buffers: Alt+digit, Ctrl+N / Ctrl+P, Alt+A to the next unread', () => {
    let r = keys(initialUi(), live(), ENTER); // bia
    r = keys(r.ui, live(), '/open caio@t.io', ENTER);
    expect(r.ui.buffers).toEqual([BIA, CAIO]);
    expect(r.ui.active).toBe(CAIO);
    expect(keys(r.ui, live(), k('1', { meta: true })).ui.active).toBe('');
    expect(keys(r.ui, live(), k('2', { meta: true })).ui.active).toBe(BIA);
    expect(keys(r.ui, live(), k('9', { meta: true })).ui.active).toBe(CAIO); // no such buffer: stays
    expect(keys(r.ui, live(), k('n', { ctrl: true })).ui.active).toBe('');
    expect(keys(r.ui, live(), k('p', { ctrl: true })).ui.active).toBe(BIA);
    const home = keys(r.ui, live(), k('1', { meta: true }));
    const unread = keys(home.ui, live(), k('a', { meta: true }));
    expect(unread.ui.active).toBe(CAIO);
    expect(unread.cmds).toEqual([{ type: 'markRead', peer: CAIO }]);
  });

  it('commands: //text sends a slash, /close, /retry, /bell, unknown ones are named', () => {
    let r = keys(keys(initialUi(), live(), ENTER).ui, live(), '//shrug', ENTER);
    expect(r.cmds).toEqual([{ type: 'send', peer: BIA, text: '/shrug' }]);
    expect(keys(r.ui, live(), '/retry', ENTER).cmds).toEqual([{ type: 'retry', peer: BIA }]);
    expect(keys(r.ui, live(), k('r', { ctrl: true })).cmds).toEqual([{ type: 'retry', peer: BIA }]);
    const bell = keys(r.ui, live(), '/bell off', ENTER);
    expect(bell.ui.bell).toBe(false);
    expect(bell.ui.flash?.text).toBe('Bell off.');
    expect(keys(r.ui, live(), '/frobnicate', ENTER).ui.flash?.text).toBe('Unknown command /frobnicate: try /help.');
    expect(keys(r.ui, live(), '/open nobody', ENTER).ui.flash?.text).toBe('Usage: /open EMAIL');
    expect(keys(r.ui, live(), `/open ${ME}`, ENTER).ui.flash?.text).toBe('That is you.');
    r = keys(r.ui, live(), '/close', ENTER);
    expect(r.ui.buffers).toEqual([]);
    expect(r.ui.active).toBe('');
  });

  it('scrolls with PgUp/PgDn and the wheel, never below the bottom', () => {
    let r = keys(initialUi(), live(), ENTER, k('pageup'), k('pageup'));
    expect(r.ui.scroll[BIA]).toBe(18);
    r = keys(r.ui, live(), k('pagedown'));
    expect(r.ui.scroll[BIA]).toBe(9);
    expect(onWheel(r.ui, 1, live()).scroll[BIA]).toBe(6);
    expect(keys(r.ui, live(), k('pagedown'), k('pagedown')).ui.scroll[BIA]).toBe(0);
  });

  it('F1 or ? (on an empty line) opens the help, Esc closes it; Ctrl+C quits from anywhere', () => {
    let r = keys(initialUi(), live(), k('f1'));
    expect(r.ui.help).toBe(true);
    r = keys(r.ui, live(), k('escape'));
    expect(r.ui.help).toBe(false);
    r = keys(initialUi(), live(), ENTER, '?');
    expect(r.ui.help).toBe(true);
    r = keys(initialUi(), live(), ENTER, 'why?');
    expect(r.ui.help).toBe(false);
    expect(inputOf(r.ui, BIA).field.text).toBe('why?');
    expect(keys(initialUi(), ctx(signedOut()), k('c', { ctrl: true })).cmds).toEqual([{ type: 'quit' }]);
  });

  it('Tab moves the focus between roster and input; / at the roster starts a command', () => {
    let r = keys(initialUi(), live(), TAB);
    expect(r.ui.focus).toBe('input');
    r = keys(initialUi(), live(), '/quit', ENTER);
    expect(r.cmds).toEqual([{ type: 'quit' }]);
  });
});
