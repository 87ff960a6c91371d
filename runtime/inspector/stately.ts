/**
 * `--inspect=stately`: the same actors, sent to Stately's hosted inspector through
 * `@statelyai/inspect` — its relay (`createInspectorServer`, a small HTTP + WebSocket server
 * whose page embeds https://stately.ai/inspect in an iframe: internet needed in the browser) and
 * its WebSocket client (`createWebSocketInspector`). Everything is sanitized the same way as for
 * the offline inspector before it leaves the process.
 *
 * The package's known pitfalls (version 0.7.2), and what this module does about them:
 * - its relay listens on all interfaces, with no option to choose: the `listen` call is
 *   redirected to the host given here (127.0.0.1 by default);
 * - a second relay on a port in use crashes the process (the 'error' event reaches a
 *   WebSocketServer with no error listener): the listen is done here, with an error listener,
 *   and a busy port becomes a `StatelyPortInUse` error with a clear message;
 * - it opens a browser by itself (`autoOpen` defaults to true): turned off, the URL is printed;
 * - after a failed connection its client schedules a 5 s retry that nothing can clear, and
 *   retries forever, even after `stop()`, which keeps the process alive: the retry timers are
 *   unref'd and collected, cleared on `stop()`, and errors after `stop()` are ignored.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { AnyEventObject, InspectionEvent } from 'xstate';
import { silentLogger, type Logger } from '../log.ts';
import { DEFAULT_STATELY_PORT } from './config.ts';
import { sanitize, sanitizeEvent } from './sanitize.ts';
import type { InspectFn } from './server.ts';


export interface StatelyOptions {
  /** the relay's port (default 8080; the bridge page needs a fixed port, so 0 is not allowed) */
  port?: number;
  /** the relay's bind address (default 127.0.0.1) */
  host?: string;
  logger?: Logger;
  /** false: do not start a relay, connect to one already running on host:port */
  relay?: boolean;
}

export interface StatelyInspector {
  /** the relay's page: open it in a browser (which then loads https://stately.ai/inspect) */
  url: string;
  port: number;
  inspect: InspectFn;
  stop(): Promise<void>;
}

export class StatelyPortInUse extends Error {
  readonly type = 'StatelyPortInUse';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `the Stately inspector relay cannot listen on ${host}:${port}: the port is in use ` +
        `(another relay or program?); pick another with --inspect=stately:PORT`,
    );
  }
}

/** A snapshot as Stately's inspector may see it: JSON form, sanitized. */
export function sanitizeSnapshot(snapshot: unknown): unknown {
  if (typeof snapshot !== 'object' || snapshot === null) return snapshot ?? null;
  const toJSON = (snapshot as { toJSON?: unknown }).toJSON;
  const plain = typeof toJSON === 'function' ? (toJSON as () => unknown).call(snapshot) : snapshot;
  return sanitize(plain);
}

/** The `serialize` hook: every snapshot and event in an outgoing message, sanitized. */
export function sanitizeStatelyMessage<T extends object>(message: T): T {
  const out: Record<string, unknown> = { ...(message as Record<string, unknown>) };
  if ('snapshot' in out) out.snapshot = sanitizeSnapshot(out.snapshot);
  const ev = out.event;
  if (typeof ev === 'object' && ev !== null && typeof (ev as { type?: unknown }).type === 'string') out.event = sanitizeEvent(ev as AnyEventObject);
  return out as T;
}

type RelayServer = http.Server;

/** Runs `createInspectorServer` with its HTTP server captured, its listen held back. */
function createRelay(port: number): { relay: { stop(): void }; server: RelayServer } {
  const original = http.createServer;
  let captured: RelayServer | null = null;
  const capture = ((...args: Parameters<typeof http.createServer>) => {
    const server = (original as (...a: unknown[]) => RelayServer)(...args);
    // hold the package's listen(port): it would bind every interface and crash on EADDRINUSE
    server.listen = (() => server) as unknown as RelayServer['listen'];
    captured = server;
    return server;
  }) as typeof http.createServer;
  http.createServer = capture;
  let relay: { stop(): void };
  try {
    relay = createInspectorServer({ port, autoOpen: false });
  } finally {
    http.createServer = original;
  }
  if (!captured) {
    relay.stop();
    throw new Error('@statelyai/inspect changed: its relay did not create an HTTP server through node:http');
  }
  return { relay, server: captured };
}

function listen(server: RelayServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    (http.Server.prototype.listen as (port: number, host: string) => unknown).call(server, port, host);
  });
}

interface AdapterLike {
  ws?: unknown;
}

/**
 * Guards the package's WebSocket adapter: every socket it creates gets its `onerror` handler
 * wrapped, so the handler's retry timer is unref'd and remembered (and cleared by `stop`), and
 * nothing happens on errors after `stop`.
 */
function tame(adapter: AdapterLike): { stop(): void } {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  let current: unknown = adapter.ws;

  const wrapHandler = (handler: (this: unknown, ev: unknown) => unknown) =>
    function (this: unknown, ev: unknown): void {
      if (stopped) return;
      const original = globalThis.setTimeout;
      const tracked = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) => {
        const t = original(fn, ms, ...rest);
        t.unref();
        timers.add(t);
        return t;
      }) as typeof setTimeout;
      globalThis.setTimeout = tracked;
      try {
        const r = handler.call(this, ev);
        if (r instanceof Promise) r.catch(() => {});
      } finally {
        globalThis.setTimeout = original;
      }
    };

  const guard = (sock: unknown) => {
    if (typeof sock !== 'object' || sock === null) return;
    let proto: object | null = Object.getPrototypeOf(sock);
    let desc: PropertyDescriptor | undefined;
    while (proto && !desc) {
      desc = Object.getOwnPropertyDescriptor(proto, 'onerror');
      proto = Object.getPrototypeOf(proto);
    }
    if (!desc?.set || !desc.get) return;
    const { get, set } = desc;
    Object.defineProperty(sock, 'onerror', {
      configurable: true,
      get: () => get.call(sock),
      set: (h: unknown) => set.call(sock, typeof h === 'function' ? wrapHandler(h as (ev: unknown) => unknown) : h),
    });
  };

  Object.defineProperty(adapter, 'ws', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (sock: unknown) => {
      current = sock;
      guard(sock);
    },
  });

  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/**
 * Starts Stately's relay on host:port (127.0.0.1:8080 by default) and a client sending the
 * process's actors to it. Open `url` in a browser with internet access.
 */
export async function createStatelyInspector(opts: StatelyOptions = {}): Promise<StatelyInspector> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_STATELY_PORT;
  const log = opts.logger ?? silentLogger;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`the Stately relay needs a fixed port (1-65535), got ${port}`);

  let relay: { stop(): void } | null = null;
  let server: RelayServer | null = null;
  const sockets = new Set<Socket>();
  if (opts.relay !== false) {
    const made = createRelay(port);
    relay = made.relay;
    server = made.server;
    // the only 'error' listener was the WebSocketServer's re-emitter, which would throw
    server.removeAllListeners('error');
    // the relay's WebSocketServer keeps its clients (browsers) open on close(): track the
    // sockets so stop() can end them
    server.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
    try {
      await listen(server, port, host);
    } catch (e) {
      relay.stop();
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new StatelyPortInUse(host, port);
      throw new Error(`the Stately inspector relay cannot listen on ${host}:${port}: ${(e as Error).message}`);
    }
    server.on('error', (e) => log.error('inspector.stately_relay_error', { error: String(e) }));
  }

  const wsHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const inspector = createWebSocketInspector({
    url: `ws://${wsHost}:${port}`,
    autoStart: false,
    sanitizeEvent: (e) => sanitizeEvent(e) as AnyEventObject,
    sanitizeContext: (c) => sanitize(c) as Record<string, unknown>,
    serialize: (m) => sanitizeStatelyMessage(m),
  });
  const guard = tame(inspector.adapter as unknown as AdapterLike);
  inspector.start();
  const url = `http://${wsHost}:${port}/`;
  log.info('inspector.stately_started', { url, relay: opts.relay !== false });

  let stopped = false;
  return {
    url,
    port,
    inspect: (ev: InspectionEvent) => {
      if (stopped) return;
      inspector.inspect.next?.(ev);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      guard.stop();
      inspector.stop();
      if (relay && server) {
        const s = server;
        const closed = new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          s.once('close', () => resolve());
        });
        relay.stop();
        for (const sock of sockets) sock.destroy();
        sockets.clear();
        await closed;
      }
    },
  };
}
