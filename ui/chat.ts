/**
 * The part of the headless client the terminal renders, as the UI sees it: the session
 * (snapshot, log in / sign up / log out) and the conversations. `ChatClient` from
 * runtime/client.ts satisfies it; tests use small fakes.
 */
import type { Result } from 'neverthrow';
import type { ChatLineMessage, ConversationView, KeyProblem, SendError, ServerKeyInfo, SessionSnapshot } from '../runtime/client.ts';

export type { ChatLine, ChatLineMessage, ChatLineSystem, ConversationView, SendError } from '../runtime/client.ts';
export { MAX_MESSAGE_BYTES } from '../runtime/client.ts';
export type SendErrorReason = SendError['reason'];
/** a message line as the UI handles it (live, or from the local history) */
export type MessageLine = ChatLineMessage;

export interface ConversationApi {
  openConversation(email: string): void;
  send(email: string, text: string): Result<string, SendError>;
  retry(email: string, messageId: string): Result<void, SendError>;
  markRead(email: string): void;
  conversations(): ReadonlyMap<string, ConversationView>;
  subscribeConversations(fn: (all: ReadonlyMap<string, ConversationView>) => void): () => void;
}

/** What of a session snapshot the view needs (the session machine's context, and its state). */
export interface SessionApi {
  signUp(email: string, password: string): void;
  logIn(email: string, password: string): void;
  logOut(): void;
  getSnapshot(): SessionSnapshot;
  subscribe(fn: (s: SessionSnapshot) => void): () => void;
  readonly serverKeyInfo: ServerKeyInfo | null;
  readonly keyProblem: KeyProblem | null;
  stop(): Promise<void>;
}
