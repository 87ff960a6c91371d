/**
 * The terminal client's own state (what is typed, which buffer is shown, where it is scrolled)
 * and the pure function that turns a key or a click into a new state plus commands for the
 * client. No I/O here: ui/app.ts runs the commands against the headless client.
 */
import { checkPassword, MIN_PASSWORD_LENGTH, normalizeEmail } from '../runtime/validate.ts';
import { MAX_PASSWORD_BYTES } from '../runtime/wire/constants.ts';
import { MAX_MESSAGE_BYTES, type ConversationView } from './chat.ts';
import * as F from './field.ts';
import type { Strings } from './i18n.ts';
import type { SessionView } from './session-view.ts';

/** '' is the home buffer; any other key is a peer's email. */
export type BufferKey = string;
export const HOME: BufferKey = '';

const utf8 = new TextEncoder();

export interface InputState {
  field: F.Field;
  /** lines entered in this buffer, oldest first */
  history: readonly string[];
  /** index into history while browsing it with Up/Down, else null */
  histPos: number | null;
  /** what was typed before browsing started */
  draft: string;
}

export interface Notice {
  at: number;
  text: string;
  kind: 'info' | 'error';
}

export interface LoginForm {
  email: F.Field;
  password: F.Field;
  /** 0 email, 1 password, 2 Log in, 3 Sign up */
  focus: 0 | 1 | 2 | 3;
  /** a problem found before sending (bad email, short password) */
  error: string | null;
}

export interface UiState {
  login: LoginForm;
  /** the kicked / server-gone screen was dismissed with Enter */
  dismissed: boolean;
  /** open conversations, in tab order */
  buffers: readonly string[];
  active: BufferKey;
  focus: 'input' | 'roster';
  filter: string;
  rosterSel: number;
  inputs: Readonly<Record<BufferKey, InputState>>;
  /** rows scrolled up from the bottom, per buffer */
  scroll: Readonly<Record<BufferKey, number>>;
  help: boolean;
  /** one transient line under the conversation (a send error, a command's answer) */
  flash: Notice | null;
  /** the home buffer's lines */
  notices: readonly Notice[];
  bell: boolean;
  quitting: boolean;
}

export function initialUi(opts: { bell?: boolean; email?: string } = {}): UiState {
  return {
    login: { email: F.fieldOf(opts.email ?? ''), password: F.emptyField, focus: opts.email ? 1 : 0, error: null },
    dismissed: false,
    buffers: [],
    active: HOME,
    focus: 'roster',
    filter: '',
    rosterSel: 0,
    inputs: {},
    scroll: {},
    help: false,
    flash: null,
    notices: [],
    bell: opts.bell ?? true,
    quitting: false,
  };
}

export interface Key {
  /** blessed's key name: 'a', 'enter', 'return', 'tab', 'up', 'f1', 'pageup', … */
  name?: string | undefined;
  /** the character typed, if any */
  ch?: string | undefined;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

export type Hit =
  | { kind: 'tab'; buffer: BufferKey }
  | { kind: 'peer'; peer: string }
  | { kind: 'chat' }
  | { kind: 'input' }
  | { kind: 'button'; which: 'login' | 'signup' }
  /** a login field (its label or its text): focuses it */
  | { kind: 'field'; which: 'email' | 'password' };

export type Cmd =
  | { type: 'login'; email: string; password: string }
  | { type: 'signup'; email: string; password: string }
  | { type: 'open'; peer: string }
  | { type: 'send'; peer: string; text: string }
  | { type: 'retry'; peer: string }
  | { type: 'markRead'; peer: string }
  | { type: 'quit' };

export type Screen = 'login' | 'main' | 'kicked' | 'gone';

export interface Ctx {
  t: Strings;
  session: SessionView;
  conversations: ReadonlyMap<string, ConversationView>;
  /** rows of the conversation pane (for PgUp/PgDn) */
  pageRows: number;
  now: number;
}

export interface Step {
  ui: UiState;
  cmds: Cmd[];
}

// ---------------------------------------------------------------------------------------------

export function screenOf(session: SessionView, ui: UiState): Screen {
  switch (session.state) {
    case 'online':
    case 'reconnecting':
    case 'signingOut':
      return 'main';
    case 'kicked':
      return ui.dismissed ? 'login' : 'kicked';
    case 'signedOut':
      return session.signedOutReason === 'server_unreachable' && !ui.dismissed ? 'gone' : 'login';
    default:
      return 'login';
  }
}

/** The roster as listed: online members but me, filtered, sorted. */
export function visibleRoster(session: SessionView, filter: string): string[] {
  const f = filter.trim().toLowerCase();
  return session.roster.filter((e) => e !== session.email && (f === '' || e.includes(f))).sort();
}

export function inputOf(ui: UiState, b: BufferKey): InputState {
  return ui.inputs[b] ?? { field: F.emptyField, history: [], histPos: null, draft: '' };
}

const withInput = (ui: UiState, b: BufferKey, s: InputState): UiState => ({ ...ui, inputs: { ...ui.inputs, [b]: s } });

const withField = (ui: UiState, b: BufferKey, f: F.Field): UiState => {
  const cur = inputOf(ui, b);
  return withInput(ui, b, { ...cur, field: f, histPos: null });
};

export function addNotice(ui: UiState, text: string, at: number, kind: Notice['kind'] = 'info'): UiState {
  return { ...ui, notices: [...ui.notices, { at, text, kind }].slice(-200) };
}

export const flash = (ui: UiState, text: string, at: number, kind: Notice['kind'] = 'error'): UiState => ({ ...ui, flash: { at, text, kind } });

/** Adds a buffer for this peer if there is none. */
export function ensureBuffer(ui: UiState, peer: string): UiState {
  return ui.buffers.includes(peer) ? ui : { ...ui, buffers: [...ui.buffers, peer] };
}

/** Shows a buffer; the commands mark it read. */
export function switchTo(ui: UiState, b: BufferKey): Step {
  const next: UiState = { ...ui, active: b, focus: b === HOME ? 'roster' : 'input', flash: null };
  return { ui: next, cmds: b === HOME ? [] : [{ type: 'markRead', peer: b }] };
}

/** Opens (or shows) the conversation with a peer. */
export function openPeer(ui: UiState, peer: string): Step {
  const s = switchTo(ensureBuffer(ui, peer), peer);
  return { ui: { ...s.ui, filter: '' }, cmds: [{ type: 'open', peer }, ...s.cmds] };
}

const allBuffers = (ui: UiState): BufferKey[] => [HOME, ...ui.buffers];

function cycle(ui: UiState, delta: number): Step {
  const all = allBuffers(ui);
  const i = Math.max(0, all.indexOf(ui.active));
  const next = all[(i + delta + all.length) % all.length] ?? HOME;
  return switchTo(ui, next);
}

function nextUnread(ui: UiState, ctx: Ctx): Step {
  const all = allBuffers(ui);
  const i = Math.max(0, all.indexOf(ui.active));
  for (let k = 1; k <= all.length; k++) {
    const b = all[(i + k) % all.length] ?? HOME;
    if (b !== HOME && (ctx.conversations.get(b)?.unread ?? 0) > 0) return switchTo(ui, b);
  }
  return { ui, cmds: [] };
}

function scrollBy(ui: UiState, rows: number): UiState {
  const cur = ui.scroll[ui.active] ?? 0;
  return { ...ui, scroll: { ...ui.scroll, [ui.active]: Math.max(0, cur + rows) } };
}

const isEnter = (k: Key) => k.name === 'enter' || k.name === 'return';

/** A printable character (or half of a surrogate pair) typed, else null. */
function typed(k: Key): string | null {
  if (k.ctrl || k.meta) return null;
  const ch = k.ch;
  if (ch === undefined || ch === '') return null;
  if (/^[\x00-\x1f\x7f]$/.test(ch)) return null;
  return ch;
}

/** Editing keys common to every field; null if the key is not one. */
function edit(f: F.Field, k: Key): F.Field | null {
  if (k.ctrl) {
    switch (k.name) {
      case 'a': return F.home(f);
      case 'e': return F.end(f);
      case 'u': return F.killToStart(f);
      case 'k': return F.killToEnd(f);
      case 'w': return F.killWord(f);
      case 'h': return F.backspace(f);
      default: return null;
    }
  }
  if (k.meta) return null;
  switch (k.name) {
    case 'backspace': return F.backspace(f);
    case 'delete': return F.del(f);
    case 'left': return F.left(f);
    case 'right': return F.right(f);
    case 'home': return F.home(f);
    case 'end': return F.end(f);
  }
  const ch = typed(k);
  return ch === null ? null : F.insert(f, ch);
}

// ---- login form -------------------------------------------------------------------------------

function validateLogin(t: Strings, email: string, password: string, signup: boolean): string | null {
  const e = normalizeEmail(email);
  if (e.isErr()) return t.emailWhy[e.error.why];
  if (password === '') return t.passwordEmpty;
  const p = checkPassword(password);
  if (p.isErr()) {
    if (p.error.why === 'control_chars') return t.passwordControl;
    if (p.error.why === 'too_long') return t.passwordLong(MAX_PASSWORD_BYTES);
    // an account made under older rules can still log in; a new one must follow them
    if (signup) return t.passwordShort(MIN_PASSWORD_LENGTH);
  }
  return null;
}

function submitLogin(ui: UiState, ctx: Ctx, signup: boolean): Step {
  const busy = ctx.session.state === 'authenticating' || ctx.session.state === 'signingUp';
  if (busy) return { ui, cmds: [] };
  const { email, password } = ui.login;
  const problem = validateLogin(ctx.t, email.text, password.text, signup);
  if (problem) return { ui: { ...ui, login: { ...ui.login, error: problem } }, cmds: [] };
  const normalized = normalizeEmail(email.text).unwrapOr(email.text.trim());
  const next: UiState = {
    ...ui,
    login: { ...ui.login, email: F.fieldOf(normalized), password: F.emptyField, error: null, focus: 1 },
    dismissed: true,
  };
  return { ui: next, cmds: [{ type: signup ? 'signup' : 'login', email: normalized, password: password.text }] };
}

function loginKey(ui: UiState, k: Key, ctx: Ctx): Step {
  const L = ui.login;
  if (k.name === 'tab') {
    const focus = ((L.focus + (k.shift ? 3 : 1)) % 4) as LoginForm['focus'];
    return { ui: { ...ui, login: { ...L, focus } }, cmds: [] };
  }
  if (k.name === 'up' || k.name === 'down') {
    const focus = ((L.focus + (k.name === 'up' ? 3 : 1)) % 4) as LoginForm['focus'];
    return { ui: { ...ui, login: { ...L, focus } }, cmds: [] };
  }
  if (isEnter(k)) return submitLogin(ui, ctx, L.focus === 3);
  if (L.focus === 2 || L.focus === 3) {
    if (k.name === 'left' || k.name === 'right') return { ui: { ...ui, login: { ...L, focus: L.focus === 2 ? 3 : 2 } }, cmds: [] };
    if (k.name === 'space' || k.ch === ' ') return submitLogin(ui, ctx, L.focus === 3);
    return { ui, cmds: [] };
  }
  const which = L.focus === 0 ? 'email' : 'password';
  const f = edit(L[which], k);
  if (!f) return { ui, cmds: [] };
  return { ui: { ...ui, login: { ...L, [which]: f, error: null } }, cmds: [] };
}

// ---- main screen ------------------------------------------------------------------------------

function historyKey(ui: UiState, b: BufferKey, dir: -1 | 1): UiState {
  const s = inputOf(ui, b);
  if (s.history.length === 0) return ui;
  if (dir === -1) {
    const pos = s.histPos === null ? s.history.length - 1 : Math.max(0, s.histPos - 1);
    const draft = s.histPos === null ? s.field.text : s.draft;
    return withInput(ui, b, { ...s, histPos: pos, draft, field: F.fieldOf(s.history[pos] ?? '') });
  }
  if (s.histPos === null) return ui;
  if (s.histPos >= s.history.length - 1) return withInput(ui, b, { ...s, histPos: null, field: F.fieldOf(s.draft), draft: '' });
  const pos = s.histPos + 1;
  return withInput(ui, b, { ...s, histPos: pos, field: F.fieldOf(s.history[pos] ?? '') });
}

function remember(ui: UiState, b: BufferKey, line: string): UiState {
  const s = inputOf(ui, b);
  const history = s.history[s.history.length - 1] === line ? s.history : [...s.history, line].slice(-100);
  return withInput(ui, b, { field: F.emptyField, history, histPos: null, draft: '' });
}

function command(ui: UiState, line: string, ctx: Ctx): Step {
  const [cmd = '', ...args] = line.trim().split(/\s+/);
  const b = ui.active;
  const done = remember(ui, b, line);
  switch (cmd.toLowerCase()) {
    case '/quit':
    case '/exit':
      return { ui: { ...done, quitting: true }, cmds: [{ type: 'quit' }] };
    case '/help':
      return { ui: { ...done, help: true }, cmds: [] };
    case '/open':
    case '/query':
    case '/msg': {
      const peer = normalizeEmail(args[0] ?? '');
      if (peer.isErr()) return { ui: flash(done, ctx.t.openUsage, ctx.now), cmds: [] };
      if (peer.value === ctx.session.email) return { ui: flash(done, ctx.t.notYou, ctx.now), cmds: [] };
      return openPeer(done, peer.value);
    }
    case '/close': {
      if (b === HOME) return { ui: done, cmds: [] };
      const i = ui.buffers.indexOf(b);
      const buffers = ui.buffers.filter((x) => x !== b);
      const next = i > 0 ? (buffers[i - 1] ?? HOME) : HOME;
      return switchTo({ ...done, buffers }, next);
    }
    case '/retry':
      return retry(done, ctx);
    case '/bell': {
      const on = args[0] === undefined ? !ui.bell : args[0] === 'on';
      return { ui: flash({ ...done, bell: on }, on ? ctx.t.bellOn : ctx.t.bellOff, ctx.now, 'info'), cmds: [] };
    }
    default:
      return { ui: flash(ui, ctx.t.unknownCommand(cmd), ctx.now), cmds: [] };
  }
}

function retry(ui: UiState, ctx: Ctx): Step {
  if (ui.active === HOME) return { ui: flash(ui, ctx.t.noFailed, ctx.now), cmds: [] };
  return { ui, cmds: [{ type: 'retry', peer: ui.active }] };
}

function submitInput(ui: UiState, ctx: Ctx): Step {
  const b = ui.active;
  const text = inputOf(ui, b).field.text;
  if (text.trim() === '') return { ui, cmds: [] };
  if (text.startsWith('/') && !text.startsWith('//')) return command(ui, text, ctx);
  const body = text.startsWith('//') ? text.slice(1) : text;
  if (b === HOME) return { ui: flash(ui, ctx.t.homeHint, ctx.now, 'info'), cmds: [] };
  const conv = ctx.conversations.get(b);
  if (conv && !conv.canSend) return { ui, cmds: [] };
  if (utf8.encode(body).length > MAX_MESSAGE_BYTES) return { ui: flash(ui, ctx.t.tooLong(MAX_MESSAGE_BYTES), ctx.now), cmds: [] };
  const next = { ...remember(ui, b, text), scroll: { ...ui.scroll, [b]: 0 }, flash: null };
  return { ui: next, cmds: [{ type: 'send', peer: b, text: body }] };
}

/** Can the input line of this buffer take keys? (not when the peer is offline) */
export function inputEnabled(ui: UiState, b: BufferKey, ctx: Pick<Ctx, 'conversations'>): boolean {
  if (b === HOME) return true;
  const conv = ctx.conversations.get(b);
  return conv ? conv.canSend : true;
}

function rosterKey(ui: UiState, k: Key, ctx: Ctx): Step | null {
  const list = visibleRoster(ctx.session, ui.filter);
  const sel = Math.min(ui.rosterSel, Math.max(0, list.length - 1));
  switch (k.name) {
    case 'up':
      return { ui: { ...ui, rosterSel: Math.max(0, sel - 1) }, cmds: [] };
    case 'down':
      return { ui: { ...ui, rosterSel: Math.min(Math.max(0, list.length - 1), sel + 1) }, cmds: [] };
    case 'escape':
      return { ui: { ...ui, filter: '', rosterSel: 0, focus: ui.active === HOME ? 'roster' : 'input' }, cmds: [] };
    case 'backspace':
      return { ui: { ...ui, filter: [...ui.filter].slice(0, -1).join(''), rosterSel: 0 }, cmds: [] };
  }
  if (isEnter(k)) {
    const peer = list[sel];
    if (!peer) return { ui, cmds: [] };
    return openPeer({ ...ui, rosterSel: 0 }, peer);
  }
  if (k.ctrl && k.name === 'u') return { ui: { ...ui, filter: '', rosterSel: 0 }, cmds: [] };
  const ch = typed(k);
  if (ch === '/' && ui.filter === '') {
    // a command typed while the roster has the focus goes to the input line
    return { ui: { ...withField(ui, ui.active, F.fieldOf('/')), focus: 'input' }, cmds: [] };
  }
  if (ch !== null && !(ch === '?' && ui.filter === '')) return { ui: { ...ui, filter: ui.filter + ch, rosterSel: 0 }, cmds: [] };
  return null;
}

function mainKey(ui: UiState, k: Key, ctx: Ctx): Step {
  const b = ui.active;
  const none: Step = { ui, cmds: [] };
  // buffer navigation, anywhere
  if (k.meta && k.name && /^[1-9]$/.test(k.name)) {
    const all = allBuffers(ui);
    const target = all[Number(k.name) - 1];
    return target === undefined ? none : switchTo(ui, target);
  }
  if (k.meta && k.name === 'a') return nextUnread(ui, ctx);
  if (k.ctrl && k.name === 'n') return cycle(ui, 1);
  if (k.ctrl && k.name === 'p') return cycle(ui, -1);
  if (k.name === 'pageup') return { ui: scrollBy(ui, Math.max(1, ctx.pageRows - 1)), cmds: [] };
  if (k.name === 'pagedown') return { ui: scrollBy(ui, -Math.max(1, ctx.pageRows - 1)), cmds: [] };
  if (k.ctrl && k.name === 'r') return retry(ui, ctx);
  if (k.name === 'tab' && !k.ctrl && !k.meta) {
    return { ui: { ...ui, focus: ui.focus === 'roster' ? 'input' : 'roster' }, cmds: [] };
  }
  const field = inputOf(ui, b).field;
  if (k.ch === '?' && !k.ctrl && !k.meta && field.text === '' && (ui.focus === 'input' ? true : ui.filter === '')) {
    return { ui: { ...ui, help: true }, cmds: [] };
  }

  if (ui.focus === 'roster') {
    const r = rosterKey(ui, k, ctx);
    if (r) return r;
    return none;
  }

  // the input line
  if (isEnter(k)) return submitInput(ui, ctx);
  if (k.name === 'escape') return b === HOME ? { ui: { ...ui, focus: 'roster' }, cmds: [] } : none;
  if (!inputEnabled(ui, b, ctx)) {
    // the peer is offline: the line keeps its draft and refuses edits; commands still work
    if (field.text === '' && typed(k) === '/') return { ui: withField(ui, b, F.insert(field, '/')), cmds: [] };
    if (field.text.startsWith('/')) {
      const f = edit(field, k);
      return f ? { ui: withField(ui, b, f), cmds: [] } : none;
    }
    return none;
  }
  if (k.name === 'up' && !k.ctrl) return { ui: historyKey(ui, b, -1), cmds: [] };
  if (k.name === 'down' && !k.ctrl) return { ui: historyKey(ui, b, 1), cmds: [] };
  const f = edit(field, k);
  if (!f) return none;
  return { ui: { ...withField(ui, b, f), flash: null }, cmds: [] };
}

// ---- entry points -----------------------------------------------------------------------------

export function onKey(ui: UiState, k: Key, ctx: Ctx): Step {
  if (ui.quitting) return { ui, cmds: [] };
  if (k.ctrl && k.name === 'c') return { ui: { ...ui, quitting: true }, cmds: [{ type: 'quit' }] };
  if (ui.help) {
    if (k.name === 'escape' || k.name === 'f1' || k.name === 'q' || isEnter(k) || k.ch === '?') return { ui: { ...ui, help: false }, cmds: [] };
    return { ui, cmds: [] };
  }
  if (k.name === 'f1') return { ui: { ...ui, help: true }, cmds: [] };
  const screen = screenOf(ctx.session, ui);
  switch (screen) {
    case 'kicked':
    case 'gone':
      if (isEnter(k)) {
        const email = ctx.session.email ?? ui.login.email.text;
        return { ui: { ...ui, dismissed: true, login: { ...ui.login, email: F.fieldOf(email), focus: email ? 1 : 0, error: null } }, cmds: [] };
      }
      if (k.name === 'q' || k.ch === 'q') return { ui: { ...ui, quitting: true }, cmds: [{ type: 'quit' }] };
      return { ui, cmds: [] };
    case 'login':
      return loginKey(ui, k, ctx);
    case 'main':
      return mainKey(ui, k, ctx);
  }
}

export function onClick(ui: UiState, hit: Hit, ctx: Ctx): Step {
  if (ui.quitting || ui.help) return { ui: ui.help ? { ...ui, help: false } : ui, cmds: [] };
  const screen = screenOf(ctx.session, ui);
  if (screen === 'login' && hit.kind === 'button') {
    return submitLogin({ ...ui, login: { ...ui.login, focus: hit.which === 'login' ? 2 : 3 } }, ctx, hit.which === 'signup');
  }
  if (screen === 'login' && hit.kind === 'field') {
    return { ui: { ...ui, login: { ...ui.login, focus: hit.which === 'email' ? 0 : 1 } }, cmds: [] };
  }
  if (screen !== 'main') return { ui, cmds: [] };
  switch (hit.kind) {
    case 'tab':
      return switchTo(ui, hit.buffer);
    case 'peer':
      return openPeer(ui, hit.peer);
    case 'input':
      return { ui: { ...ui, focus: 'input' }, cmds: [] };
    case 'chat':
    case 'button':
    case 'field':
      return { ui, cmds: [] };
  }
}

export function onWheel(ui: UiState, dir: -1 | 1, ctx: Ctx): UiState {
  if (screenOf(ctx.session, ui) !== 'main') return ui;
  return scrollBy(ui, dir === -1 ? 3 : -3);
}
