/** Small builders for the view-model tests: sessions, conversations, messages, a frame as text. */
import type { ChatLine, ChatLineMessage, ConversationView } from '../../ui/chat.ts';
import { strings, type Lang } from '../../ui/i18n.ts';
import type { SessionView } from '../../ui/session-view.ts';
import { initialUi, type UiState } from '../../ui/state.ts';
import { frameText, render, type Frame, type ViewInput } from '../../ui/view.ts';

export const ME = 'ana@t.io';
export const BIA = 'bia@t.io';
export const CAIO = 'caio@t.io';
/** 2024-05-01 12:34 UTC; the tests format times with a fixed clock */
export const T0 = Date.UTC(2024, 4, 1, 12, 34);
export const clock = (at: number): string => new Date(at).toISOString().slice(11, 16);

export function online(over: Partial<SessionView> = {}): SessionView {
  return { state: 'online', email: ME, error: null, kickReason: null, signedOutReason: null, roster: [ME, BIA, CAIO], ...over };
}

export function signedOut(over: Partial<SessionView> = {}): SessionView {
  return { state: 'signedOut', email: null, error: null, kickReason: null, signedOutReason: null, roster: [], ...over };
}

let n = 0;
export function msg(direction: 'in' | 'out', text: string, state: ChatLineMessage['state'] = 'delivered', at = T0): ChatLineMessage {
  return { kind: 'message', id: `m${++n}`, direction, text, at, state };
}

export function sys(event: 'connected' | 'disconnected', at = T0): ChatLine {
  return { kind: 'system', id: `s${++n}`, event, at };
}

export function conv(peer: string, lines: ChatLine[] = [], over: Partial<ConversationView> = {}): ConversationView {
  return { peer, connected: true, canSend: true, reason: null, lines, unread: 0, ...over };
}

export function convs(...cs: ConversationView[]): ReadonlyMap<string, ConversationView> {
  return new Map(cs.map((c) => [c.peer, c]));
}

export function view(over: Partial<ViewInput> & { lang?: Lang } = {}): ViewInput {
  const { lang, ...rest } = over;
  return {
    t: strings(lang ?? 'en'),
    cols: 100,
    rows: 30,
    server: '127.0.0.1:54319',
    session: online(),
    conversations: new Map(),
    earlier: () => [],
    ui: initialUi(),
    keyInfo: null,
    keyProblem: null,
    knownServersFile: '/data/known_servers',
    inspectorUrl: null,
    now: T0,
    clock,
    ...rest,
  };
}

export function withUi(over: Partial<UiState>): UiState {
  return { ...initialUi(), ...over };
}

export function draw(v: ViewInput): { frame: Frame; lines: string[]; text: string } {
  const frame = render(v);
  const lines = frameText(frame, v.cols, v.rows);
  return { frame, lines, text: lines.join('\n') };
}
