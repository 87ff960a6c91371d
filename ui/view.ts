/**
 * The view-model: session + conversations + the UI's own state → what is drawn, as rectangular
 * regions of styled text lines and the clickable boxes in them. Pure: no blessed, no clock of
 * its own (time formatting is passed in), so component tests read the frame as text.
 *
 * Layout of the main screen (weechat/irssi habits):
 *   row 0          buffers bar: [1 truco] 2 bob@x.io (3) …
 *   rows 1..R-3    conversation (title line, then messages)  │ roster (Online (N), filter, names)
 *   row R-2        status bar: time │ server │ state │ me │ inspector │ F1 help
 *   row R-1        input line
 */
import type { KeyProblem, ServerKeyInfo } from '../runtime/client.ts';
import type { ChatLine, ChatLineMessage, ConversationView } from './chat.ts';
import type { Strings } from './i18n.ts';
import type { SessionView } from './session-view.ts';
import { HOME, inputEnabled, inputOf, screenOf, visibleRoster, type BufferKey, type Hit, type Screen, type UiState } from './state.ts';
import { cleanLine, fit, fitEnd, graphemes, pad, strWidth, truncate, wrap } from './width.ts';

export interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
  underline?: boolean;
}
export interface Seg {
  text: string;
  style?: Style;
}
export type Line = Seg[];

export type RegionId = 'tabs' | 'chat' | 'sep' | 'roster' | 'status' | 'input' | 'login' | 'kicked' | 'help' | 'small';

export interface Region {
  id: RegionId;
  left: number;
  top: number;
  width: number;
  height: number;
  lines: Line[];
  /** the region's background/foreground (blank cells too) */
  style?: Style;
}

export interface HitBox {
  left: number;
  top: number;
  width: number;
  height: number;
  hit: Hit;
}

export interface Frame {
  screen: Screen | 'small';
  regions: Region[];
  hits: HitBox[];
  /** the terminal title */
  title: string;
  /** rows of the conversation pane (PgUp/PgDn step) */
  pageRows: number;
}

export interface ViewInput {
  t: Strings;
  cols: number;
  rows: number;
  server: string;
  session: SessionView;
  conversations: ReadonlyMap<string, ConversationView>;
  /** messages of earlier sessions kept in the local history, oldest first */
  earlier: (peer: string) => readonly ChatLineMessage[];
  ui: UiState;
  keyInfo: ServerKeyInfo | null;
  keyProblem: KeyProblem | null;
  /** where known_servers lives (named in the key-changed message) */
  knownServersFile: string;
  inspectorUrl: string | null;
  now: number;
  /** `HH:MM` of a timestamp, in the user's time zone */
  clock?: (at: number) => string;
}

export const MIN_COLS = 30;
export const MIN_ROWS = 8;

const NICK_COLOURS = ['cyan', 'magenta', 'green', 'yellow', 'blue', 'red', 'lightcyan', 'lightmagenta', 'lightgreen', 'lightyellow', 'lightblue', 'lightred'];

/** A stable colour for an email (FNV-1a hash into a palette of twelve). */
export function nickColour(email: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < email.length; i++) h = Math.imul(h ^ email.charCodeAt(i), 0x01000193);
  return NICK_COLOURS[(h >>> 0) % NICK_COLOURS.length] ?? 'cyan';
}

export function hhmm(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export const MARKS = { pending: '·', delivered: '✓', failed: '✗' } as const;

const seg = (text: string, style?: Style): Seg => (style ? { text, style } : { text });
export const lineText = (l: Line): string => l.map((s) => s.text).join('');
const lineWidth = (l: Line): number => strWidth(lineText(l));

/** Cuts a line to `width` cells (keeping styles) and pads it with spaces to exactly that. */
export function fitLine(l: Line, width: number, padStyle?: Style): Line {
  const out: Line = [];
  let used = 0;
  for (const s of l) {
    if (used >= width) break;
    const w = strWidth(s.text);
    if (used + w <= width) {
      out.push(s);
      used += w;
    } else {
      const cut = fit(s.text, width - used);
      out.push(s.style ? { text: cut, style: s.style } : { text: cut });
      used += strWidth(cut);
      break;
    }
  }
  if (used < width) out.push(seg(' '.repeat(width - used), padStyle));
  return out;
}

function centred(text: string, width: number, style?: Style): Line {
  const t = truncate(text, width);
  const left = Math.max(0, Math.floor((width - strWidth(t)) / 2));
  return [seg(' '.repeat(left)), seg(t, style)];
}

// ---- the session's words ------------------------------------------------------------------------

/** The sentence for a failed attempt (context.error), or null. */
export function errorText(v: ViewInput): string | null {
  const e = v.session.error;
  if (!e) return null;
  const t = v.t;
  switch (e.reason) {
    case 'rate_limited':
      return t.rateLimited(e.retryAfterS ?? 1);
    case 'server_unreachable':
      return t.unreachable(v.server);
    case 'server_key_changed': {
      const p = v.keyProblem;
      return t.keyChanged(p?.server ?? v.server, p?.expected ?? '?', p?.got ?? '?', v.knownServersFile);
    }
    default:
      return t.reason[e.reason] ?? t.refusedOther(e.reason);
  }
}

export function keyInfoText(t: Strings, k: ServerKeyInfo | null): string | null {
  if (!k) return null;
  if (k.status === 'pinned') return t.keyPinned(k.fingerprint);
  if (k.status === 'given') return t.keyGiven(k.fingerprint);
  return t.keyKnown(k.fingerprint);
}

function kickText(v: ViewInput): string {
  const t = v.t;
  const s = v.session;
  if (s.state !== 'kicked') return t.kick.gone(v.server);
  switch (s.kickReason) {
    case 'elsewhere':
      return t.kick.elsewhere(s.email ?? '');
    case 'dropped':
      return t.kick.dropped;
    case 'ticket_revoked':
      return t.kick.ticket_revoked;
    case 'refused':
      return t.kick.refused(errorText(v) ?? '');
    default:
      return t.kick.dropped;
  }
}

// ---- bars -----------------------------------------------------------------------------------------

const STATE_COLOUR: Record<string, string> = {
  online: 'lightgreen',
  reconnecting: 'lightyellow',
  authenticating: 'lightyellow',
  signingUp: 'lightyellow',
  signingOut: 'lightyellow',
  signedOut: 'white',
  kicked: 'lightred',
};

const BAR: Style = { bg: 'blue', fg: 'white' };

function statusBar(v: ViewInput, width: number): Line {
  const clock = v.clock ?? hhmm;
  const sep = seg(' │ ', BAR);
  const state = v.ui.quitting ? v.t.quitting : v.t.state[v.session.state];
  const parts: Line = [seg(` ${clock(v.now)}`, BAR), sep, seg(v.server, BAR), sep, seg(state, { ...BAR, fg: STATE_COLOUR[v.session.state] ?? 'white', bold: true })];
  if (v.session.email && v.session.state !== 'signedOut') parts.push(sep, seg(v.session.email, { ...BAR, bold: true }));
  if (v.inspectorUrl) parts.push(sep, seg(`${v.t.inspector} ${v.inspectorUrl}`, BAR));
  const right = ` ${v.t.helpHint} `;
  const leftW = lineWidth(parts);
  if (leftW + strWidth(right) + 1 <= width) parts.push(seg(' '.repeat(width - leftW - strWidth(right)), BAR), seg(right, { ...BAR, dim: false }));
  return fitLine(parts, width, BAR);
}

interface Tab {
  buffer: BufferKey;
  label: string;
  unread: number;
  offline: boolean;
}

function tabsBar(v: ViewInput, width: number, hits: HitBox[]): Line {
  const ui = v.ui;
  const tabs: Tab[] = [{ buffer: HOME, label: v.t.app, unread: 0, offline: false }];
  for (const b of ui.buffers) {
    const c = v.conversations.get(b);
    tabs.push({ buffer: b, label: b, unread: c?.unread ?? 0, offline: c ? !c.connected : true });
  }
  const render = (maxName: number): { text: string; tab: Tab }[] =>
    tabs.map((tab, i) => {
      const name = tab.buffer === HOME ? tab.label : truncate(tab.label, maxName);
      const unread = tab.unread > 0 && tab.buffer !== ui.active ? ` (${tab.unread})` : '';
      const n = i + 1;
      return { text: `${n <= 9 ? n : '·'} ${name}${unread}`, tab };
    });
  let maxName = 40;
  let items = render(maxName);
  const total = () => items.reduce((a, x) => a + strWidth(x.text) + 3, 1);
  while (total() > width && maxName > 4) items = render(--maxName);
  const line: Line = [seg(' ', BAR)];
  let x = 1;
  for (const { text, tab } of items) {
    const active = tab.buffer === ui.active;
    const style: Style = active
      ? { bg: 'white', fg: 'black', bold: true }
      : tab.unread > 0
        ? { ...BAR, fg: 'lightyellow', bold: true }
        : tab.offline
          ? { ...BAR, fg: 'grey' }
          : BAR;
    const cell = active ? `[${text}]` : ` ${text} `;
    const w = strWidth(cell);
    if (x + w > width) break;
    line.push(seg(cell, style), seg(' ', BAR));
    hits.push({ left: x, top: 0, width: w, height: 1, hit: { kind: 'tab', buffer: tab.buffer } });
    x += w + 1;
  }
  return fitLine(line, width, BAR);
}

// ---- the conversation pane ---------------------------------------------------------------------

interface Row {
  line: Line;
}

const clockIds = new WeakMap<(at: number) => string, number>();
let clocks = 0;
const clockId = (f: (at: number) => string): number => {
  let id = clockIds.get(f);
  if (id === undefined) clockIds.set(f, (id = ++clocks));
  return id;
};

/** Wrapped rows per message object, for the width and settings they were made for. */
const rowCache = new WeakMap<ChatLineMessage, { key: string; rows: Row[] }>();

function messageRows(v: ViewInput, m: ChatLineMessage, width: number, nickW: number, peer: string, old: boolean): Row[] {
  const key = `${width}|${nickW}|${peer}|${old}|${v.t.lang}|${v.session.email}|${m.state}|${clockId(v.clock ?? hhmm)}`;
  const hit = rowCache.get(m);
  if (hit && hit.key === key) return hit.rows;
  const rows = makeMessageRows(v, m, width, nickW, peer, old);
  rowCache.set(m, { key, rows });
  return rows;
}

function makeMessageRows(v: ViewInput, m: ChatLineMessage, width: number, nickW: number, peer: string, old: boolean): Row[] {
  const clock = v.clock ?? hhmm;
  const me = v.session.email ?? '';
  const nick = m.direction === 'out' ? me : peer;
  const time = seg(clock(m.at) + ' ', { fg: 'grey' });
  const mark =
    m.direction === 'in'
      ? seg('  ')
      : m.state === 'delivered'
        ? seg(MARKS.delivered + ' ', { fg: 'green' })
        : m.state === 'failed'
          ? seg(MARKS.failed + ' ', { fg: 'lightred', bold: true })
          : seg(MARKS.pending + ' ', { fg: 'yellow' });
  const nickText = pad(truncate(nick, nickW), nickW);
  const nickStyle: Style = m.direction === 'out' ? { fg: nickColour(nick), bold: true } : { fg: nickColour(nick) };
  const prefixW = 6 + 2 + nickW + 3;
  const textW = width - prefixW;
  const textStyle: Style | undefined = old ? { fg: 'grey' } : m.direction === 'out' ? undefined : undefined;
  const bar = seg(' │ ', { fg: 'grey' });
  const rows: Row[] = [];
  if (textW < 8) {
    // too narrow for columns: "HH:MM nick: text", wrapped under itself
    const head = `${nick}: `;
    const parts = wrap(head + m.text, width - 6);
    parts.forEach((p, i) => {
      rows.push({ line: i === 0 ? [time, seg(p)] : [seg('      '), seg(p, textStyle)] });
    });
  } else {
    const parts = wrap(m.text, textW);
    parts.forEach((p, i) => {
      if (i === 0) rows.push({ line: [time, mark, seg(nickText, nickStyle), bar, seg(p, textStyle)] });
      else rows.push({ line: [seg(' '.repeat(6 + 2 + nickW)), bar, seg(p, textStyle)] });
    });
  }
  if (m.direction === 'out' && m.state === 'failed') {
    rows.push({ line: [seg(' '.repeat(Math.min(prefixW, Math.max(0, width - 20)))), seg(`${MARKS.failed} ${v.t.failedHint}`, { fg: 'lightred' })] });
  }
  return rows;
}

function systemRow(v: ViewInput, l: ChatLine & { kind: 'system' }): Row {
  const clock = v.clock ?? hhmm;
  const up = l.event === 'connected';
  return {
    line: [seg(clock(l.at) + ' ', { fg: 'grey' }), seg('── ', { fg: up ? 'green' : 'lightred' }), seg(up ? v.t.connected : v.t.disconnected, { fg: up ? 'lightgreen' : 'lightred', bold: true })],
  };
}

function conversationRows(v: ViewInput, peer: string, width: number): Row[] {
  const conv = v.conversations.get(peer);
  const earlier = v.earlier(peer);
  const live = conv?.lines ?? [];
  const nicks = [v.session.email ?? '', peer];
  const nickW = Math.min(Math.max(...nicks.map(strWidth), 1), Math.max(6, Math.floor(width / 4)), 24);
  const rows: Row[] = [];
  for (const m of earlier) rows.push(...messageRows(v, m, width, nickW, peer, true));
  if (earlier.length > 0) rows.push({ line: centred(`── ↑ ${v.t.earlier} ──`, width, { fg: 'grey' }) });
  for (const l of live) {
    if (l.kind === 'system') rows.push(systemRow(v, l));
    else rows.push(...messageRows(v, l, width, nickW, peer, false));
  }
  return rows;
}

function homeRows(v: ViewInput, width: number): Row[] {
  const clock = v.clock ?? hhmm;
  const rows: Row[] = [];
  const notices = v.ui.notices;
  for (const n of notices) {
    const parts = wrap(n.text, Math.max(4, width - 6));
    parts.forEach((p, i) => rows.push({ line: [seg(i === 0 ? clock(n.at) + ' ' : '      ', { fg: 'grey' }), seg(p, n.kind === 'error' ? { fg: 'lightred' } : undefined)] }));
  }
  for (const p of wrap(v.t.homeHint, Math.max(4, width - 6))) rows.push({ line: [seg('      '), seg(p, { fg: 'grey' })] });
  return rows;
}

function chatPane(v: ViewInput, left: number, top: number, width: number, height: number, hits: HitBox[]): Region {
  const ui = v.ui;
  const b = ui.active;
  const lines: Line[] = [];
  // title line
  if (b === HOME) lines.push(fitLine([seg(v.t.homeTitle, { bold: true })], width));
  else {
    const conv = v.conversations.get(b);
    const up = conv?.connected ?? false;
    lines.push(
      fitLine([seg(b, { bold: true, fg: nickColour(b) }), seg(' — '), seg(up ? v.t.titleConnected : v.t.titleDisconnected, { fg: up ? 'lightgreen' : 'lightred' })], width),
    );
  }
  const flashRows = ui.flash ? wrap(ui.flash.text, width).slice(0, 2) : [];
  const avail = Math.max(0, height - 1 - flashRows.length);
  const all = b === HOME ? homeRows(v, width) : conversationRows(v, b, width);
  const maxScroll = Math.max(0, all.length - avail);
  const scroll = Math.min(ui.scroll[b] ?? 0, maxScroll);
  const end = all.length - scroll;
  const start = Math.max(0, end - avail);
  const shown = all.slice(start, end).map((r) => fitLine(r.line, width));
  if (scroll > 0 && shown.length > 0) shown[shown.length - 1] = fitLine(centred(v.t.moreBelow(scroll), width, { fg: 'black', bg: 'yellow' }), width);
  // messages sit at the bottom, like a chat
  while (shown.length < avail) shown.unshift(fitLine([], width));
  lines.push(...shown);
  for (const f of flashRows) lines.push(fitLine([seg(f, { fg: ui.flash?.kind === 'error' ? 'lightred' : 'lightcyan' })], width));
  hits.push({ left, top, width, height, hit: { kind: 'chat' } });
  return { id: 'chat', left, top, width, height, lines };
}

function rosterPane(v: ViewInput, left: number, top: number, width: number, height: number, hits: HitBox[]): Region {
  const ui = v.ui;
  const list = visibleRoster(v.session, ui.filter);
  const total = visibleRoster(v.session, '').length;
  const focused = ui.focus === 'roster';
  const lines: Line[] = [fitLine([seg(` ${v.t.online} (${total})`, { bold: true, underline: focused })], width)];
  let avail = height - 1;
  if (focused || ui.filter !== '') {
    const label = ` ${v.t.filter}: `;
    const room = Math.max(1, width - strWidth(label) - 1);
    lines.push(fitLine([seg(label, { fg: 'grey' }), seg(fitEnd(ui.filter, room)), ...(focused ? [seg(' ', { inverse: true })] : [])], width));
    avail--;
  }
  if (list.length === 0) {
    lines.push(fitLine([seg(' ' + (total === 0 ? v.t.nobody : v.t.noMatch), { fg: 'grey' })], width));
  } else {
    const sel = Math.min(ui.rosterSel, list.length - 1);
    const first = Math.max(0, Math.min(sel - avail + 1, list.length - avail));
    const firstShown = Math.max(0, Math.min(first, sel));
    list.slice(firstShown, firstShown + avail).forEach((peer, i) => {
      const unread = v.conversations.get(peer)?.unread ?? 0;
      const badge = unread > 0 ? ` (${unread})` : '';
      const name = truncate(peer, Math.max(1, width - 1 - strWidth(badge)));
      const selected = focused && firstShown + i === sel;
      const base: Style = selected ? { inverse: true } : {};
      const row: Line = [seg(' ', base), seg(name, { ...base, fg: nickColour(peer) }), seg(badge, { ...base, fg: 'lightyellow', bold: true })];
      hits.push({ left, top: top + lines.length, width, height: 1, hit: { kind: 'peer', peer } });
      lines.push(fitLine(row, width, base));
    });
  }
  while (lines.length < height) lines.push(fitLine([], width));
  return { id: 'roster', left, top, width, height, lines: lines.slice(0, height) };
}

/** The input line: "[buffer] text" with the cursor as an inverted cell, scrolled to keep it in view. */
function inputLine(v: ViewInput, width: number): Line {
  const ui = v.ui;
  const b = ui.active;
  const enabled = inputEnabled(ui, b, v);
  const conv = b === HOME ? undefined : v.conversations.get(b);
  const field = inputOf(ui, b).field;
  if (!enabled && !field.text.startsWith('/')) {
    const why = conv?.reason === 'not_online' ? v.t.notOnline : v.t.peerOffline(b);
    return fitLine([seg(`${MARKS.failed} ${why}`, { fg: 'lightred', bg: 'black', dim: false })], width, { bg: 'black' });
  }
  const prompt = `[${b === HOME ? v.t.app : truncate(b, Math.max(4, Math.floor(width / 3)))}] `;
  const promptSeg = seg(prompt, { fg: b === HOME ? 'grey' : nickColour(b), bold: true });
  const room = Math.max(2, width - strWidth(prompt));
  const focused = ui.focus === 'input';
  const text = field.text;
  const before = cleanLine(text.slice(0, field.cursor));
  const afterAll = cleanLine(text.slice(field.cursor));
  const gs = graphemes(afterAll);
  const atCursor = gs[0] ?? ' ';
  const rest = gs.slice(1).join('');
  const cw = strWidth(atCursor) || 1;
  const shownBefore = fitEnd(before, Math.max(0, room - cw - 1));
  const shownAfter = fit(rest, Math.max(0, room - strWidth(shownBefore) - cw));
  const line: Line = [promptSeg, seg(shownBefore)];
  if (focused) line.push(seg(afterAll === '' ? ' ' : atCursor, { inverse: true }));
  else line.push(seg(afterAll === '' ? '' : atCursor));
  line.push(seg(shownAfter));
  return fitLine(line, width);
}

// ---- screens ------------------------------------------------------------------------------------

function boxRegion(id: RegionId, v: ViewInput, width: number, body: Line[], style?: Style): Region {
  const w = Math.min(width, v.cols - 2);
  const h = Math.min(body.length, v.rows - 2);
  const left = Math.max(0, Math.floor((v.cols - w) / 2));
  const top = Math.max(0, Math.floor((v.rows - 1 - h) / 2));
  return { id, left, top, width: w, height: h, lines: body.slice(0, h).map((l) => fitLine(l, w, style)), ...(style ? { style } : {}) };
}

function loginScreen(v: ViewInput, hits: HitBox[]): Region[] {
  const t = v.t;
  const L = v.ui.login;
  const W = Math.min(72, v.cols - 2);
  const inner = W - 4;
  const labelW = Math.max(strWidth(t.server), strWidth(t.email), strWidth(t.password)) + 2;
  const fieldW = Math.max(4, inner - labelW - 2);
  const FIELD: Style = { bg: 'black', fg: 'white', underline: true };
  const field = (text: string, cursor: number, focused: boolean, mask: boolean): Line => {
    const before = mask ? '*'.repeat(graphemes(text.slice(0, cursor)).length) : cleanLine(text.slice(0, cursor));
    const after = mask ? '*'.repeat(graphemes(text.slice(cursor)).length) : cleanLine(text.slice(cursor));
    const b = fitEnd(before, fieldW - 1);
    const gs = graphemes(after);
    const at = gs[0] ?? ' ';
    const rest = gs.slice(1).join('');
    const out: Line = [seg(b, FIELD)];
    if (focused) out.push(seg(at, { ...FIELD, inverse: true }));
    else out.push(seg(at, FIELD));
    out.push(seg(fit(rest, Math.max(0, fieldW - strWidth(b) - strWidth(at))), FIELD));
    return [seg('['), ...fitLine(out, fieldW, FIELD), seg(']')];
  };
  const label = (text: string, focused: boolean): Seg => seg(pad(text, labelW), focused ? { bold: true, fg: 'lightcyan' } : { fg: 'grey' });
  const button = (text: string, focused: boolean): Seg => seg(`[ ${text} ]`, focused ? { inverse: true, bold: true } : { bold: true });
  const busy = v.session.state === 'authenticating' ? t.loggingIn : v.session.state === 'signingUp' ? t.signingUp : null;
  const problem = L.error ?? (busy ? null : errorText(v));
  const info = keyInfoText(t, v.keyInfo);
  const body: Line[] = [
    [],
    centred(t.loginTitle, inner, { bold: true }),
    [],
    [label(t.server, false), seg(v.server)],
    [label(t.email, L.focus === 0), ...field(L.email.text, L.email.cursor, L.focus === 0, false)],
    [label(t.password, L.focus === 1), ...field(L.password.text, L.password.cursor, L.focus === 1, true)],
    [],
    [seg(' '.repeat(labelW)), button(t.logIn, L.focus === 2), seg('   '), button(t.signUp, L.focus === 3)],
    [],
  ];
  if (busy) body.push([seg(busy, { fg: 'lightyellow' })]);
  if (problem) for (const p of wrap(problem, inner)) body.push([seg(p, { fg: 'lightred', bold: true })]);
  if (info && v.keyInfo?.status === 'pinned') for (const p of wrap(info, inner)) body.push([seg(p, { fg: 'lightcyan' })]);
  body.push([]);
  for (const p of wrap(t.loginHint, inner)) body.push([seg(p, { fg: 'grey' })]);
  body.push([]);
  const framed = body.map((l) => [seg('  '), ...fitLine(l, inner), seg('  ')]);
  const box = boxRegion('login', v, W, framed);
  // the fields (label and text) and the buttons are clickable too
  hits.push({ left: box.left + 2, top: box.top + 4, width: inner, height: 1, hit: { kind: 'field', which: 'email' } });
  hits.push({ left: box.left + 2, top: box.top + 5, width: inner, height: 1, hit: { kind: 'field', which: 'password' } });
  const by = box.top + 7;
  const bx = box.left + 2 + labelW;
  hits.push({ left: bx, top: by, width: strWidth(`[ ${t.logIn} ]`), height: 1, hit: { kind: 'button', which: 'login' } });
  hits.push({ left: bx + strWidth(`[ ${t.logIn} ]`) + 3, top: by, width: strWidth(`[ ${t.signUp} ]`), height: 1, hit: { kind: 'button', which: 'signup' } });
  return [box, { id: 'status', left: 0, top: v.rows - 1, width: v.cols, height: 1, lines: [statusBar(v, v.cols)] }];
}

function kickedScreen(v: ViewInput): Region[] {
  const t = v.t;
  const W = Math.min(70, v.cols - 2);
  const inner = W - 4;
  const body: Line[] = [[], centred(v.session.state === 'kicked' ? t.kickedTitle : t.state.signedOut, inner, { bold: true, fg: 'lightred' }), []];
  for (const p of wrap(kickText(v), inner)) body.push([seg(p)]);
  body.push([]);
  body.push(centred(t.kickedKeys, inner, { bold: true }));
  body.push([]);
  const framed = body.map((l) => [seg('  '), ...fitLine(l, inner), seg('  ')]);
  return [boxRegion('kicked', v, W, framed), { id: 'status', left: 0, top: v.rows - 1, width: v.cols, height: 1, lines: [statusBar(v, v.cols)] }];
}

function helpOverlay(v: ViewInput): Region {
  const t = v.t;
  const keyW = Math.max(...t.help.map(([k]) => strWidth(k))) + 2;
  const W = Math.min(v.cols - 2, 76);
  const inner = W - 4;
  const body: Line[] = [[], centred(t.helpTitle, inner, { bold: true }), []];
  for (const [k, d] of t.help) {
    const parts = wrap(d, Math.max(8, inner - keyW));
    parts.forEach((p, i) => body.push([seg(pad(i === 0 ? k : '', keyW), { fg: 'lightcyan', bold: true }), seg(p)]));
  }
  body.push([]);
  const framed = body.map((l) => [seg('  '), ...fitLine(l, inner), seg('  ')]);
  return boxRegion('help', v, W, framed, { bg: 'black', fg: 'white' });
}

function layout(cols: number, rows: number): { bodyH: number; rosterW: number; chatW: number } {
  const rosterW = cols >= 60 ? Math.min(32, Math.max(18, Math.floor(cols / 4))) : 0;
  return { bodyH: rows - 3, rosterW, chatW: rosterW > 0 ? cols - rosterW - 1 : cols };
}

/** How many rows the active buffer's lines take at the current width (to keep a scrolled view still). */
export function chatRowCount(v: ViewInput): number {
  const { chatW } = layout(v.cols, v.rows);
  return v.ui.active === HOME ? homeRows(v, chatW).length : conversationRows(v, v.ui.active, chatW).length;
}

export function render(v: ViewInput): Frame {
  const hits: HitBox[] = [];
  const { cols, rows } = v;
  const title = v.session.email ? `truco — ${v.session.email}` : 'truco';
  if (cols < MIN_COLS || rows < MIN_ROWS) {
    const msg = `${cols}×${rows}: ≥ ${MIN_COLS}×${MIN_ROWS}`;
    return { screen: 'small', regions: [{ id: 'small', left: 0, top: 0, width: cols, height: 1, lines: [fitLine([seg(msg)], cols)] }], hits, title, pageRows: 1 };
  }
  const screen = screenOf(v.session, v.ui);
  let regions: Region[];
  let pageRows = 1;
  if (screen === 'login') regions = loginScreen(v, hits);
  else if (screen === 'kicked' || screen === 'gone') regions = kickedScreen(v);
  else {
    const { bodyH, rosterW, chatW } = layout(cols, rows);
    regions = [{ id: 'tabs', left: 0, top: 0, width: cols, height: 1, lines: [tabsBar(v, cols, hits)] }];
    regions.push(chatPane(v, 0, 1, chatW, bodyH, hits));
    if (rosterW > 0) {
      regions.push({ id: 'sep', left: chatW, top: 1, width: 1, height: bodyH, lines: Array.from({ length: bodyH }, () => [seg('│', { fg: 'grey' })]) });
      regions.push(rosterPane(v, chatW + 1, 1, rosterW, bodyH, hits));
    }
    regions.push({ id: 'status', left: 0, top: rows - 2, width: cols, height: 1, lines: [statusBar(v, cols)] });
    regions.push({ id: 'input', left: 0, top: rows - 1, width: cols, height: 1, lines: [inputLine(v, cols)] });
    hits.push({ left: 0, top: rows - 1, width: cols, height: 1, hit: { kind: 'input' } });
    pageRows = bodyH - 1;
  }
  if (v.ui.help) regions.push(helpOverlay(v));
  return { screen, regions, hits, title, pageRows };
}

/** The frame as plain text, row by row (what a screen reader or a test sees). */
export function frameText(f: Frame, cols: number, rows: number): string[] {
  const grid: string[][] = Array.from({ length: rows }, () => Array.from({ length: cols }, () => ' '));
  for (const r of f.regions) {
    r.lines.forEach((l, dy) => {
      const y = r.top + dy;
      const row = grid[y];
      if (!row || dy >= r.height) return;
      let x = r.left;
      for (const g of graphemes(lineText(l))) {
        const w = strWidth(g);
        if (x + Math.max(1, w) > r.left + r.width || x >= cols) break;
        row[x] = g;
        if (w === 2 && x + 1 < cols) row[x + 1] = '';
        x += Math.max(1, w);
      }
    });
  }
  return grid.map((r) => r.join('').trimEnd());
}

/** Which clickable thing is at (x, y), last drawn on top. */
export function hitAt(f: Frame, x: number, y: number): Hit | null {
  for (let i = f.hits.length - 1; i >= 0; i--) {
    const h = f.hits[i];
    if (h && x >= h.left && x < h.left + h.width && y >= h.top && y < h.top + h.height) return h.hit;
  }
  return null;
}
