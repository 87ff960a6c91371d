/**
 * The offline inspector: an HTTP server inside the inspected process (server or client) that
 * serves the page in ./page and the hub's data. Every byte the page needs comes from this
 * server: no CDN, no font, no internet.
 *
 *   GET /                      the page (index.html, app.js, app.css)
 *   GET /api/info              the process and counters
 *   GET /api/children?parent=UID&q=&offset=&limit=   a page of children (no parent: the roots)
 *   GET /api/search?q=&limit=  actors by name or kind, anywhere in the tree
 *   GET /api/actor?id=UID      one actor's view (sanitized snapshot) and recent log
 *   GET /api/chart?key=KEY     a machine's chart (definition walked from machine.root)
 *   GET /api/stream[?id=UID]   Server-Sent Events: `tree` (throttled), and for UID: `view`, `log`, `gone`
 *
 * Safety: binds 127.0.0.1 unless told otherwise; answers only requests whose Host header names
 * an IP address or localhost (so a web page on another origin cannot read it through DNS
 * rebinding); sends a strict Content-Security-Policy; serves GET only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { silentLogger, type Logger } from '../log.ts';
import { DEFAULT_INSPECT_PORT } from './config.ts';
import { createHub, type ActorView, type Hub, type HubOptions, type LogEntry } from './hub.ts';


export interface InspectorOptions {
  /** TCP port; 0 picks a free one; undefined: DEFAULT_INSPECT_PORT, or a free one if that is taken */
  port?: number;
  /** bind address (default 127.0.0.1) */
  host?: string;
  logger?: Logger;
  /** shown in the page's title: "server", "client ana@…" */
  title?: string;
  hub?: HubOptions;
  /** ms between two tree notifications to a page (default 150) */
  treeThrottleMs?: number;
}

export type InspectFn = (event: InspectionEvent) => void;

export interface Inspector {
  /** the page's address, e.g. http://127.0.0.1:54320/ */
  url: string;
  port: number;
  /** pass as `createActor(machine, { inspect })` */
  inspect: InspectFn;
  hub: Hub;
  stop(): Promise<void>;
}

export class InspectorPortInUse extends Error {
  readonly type = 'InspectorPortInUse';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`the inspector cannot listen on ${host}:${port}: the port is in use (pick another with --inspect=PORT, or 0 for any free port)`);
  }
}

const PAGE_DIR = join(import.meta.dirname, 'page');
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Host header check: an IP literal or localhost, with any port (blocks DNS rebinding). */
function hostAllowed(header: string | undefined): boolean {
  if (!header) return false;
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return false;
    return isIP(h.slice(1, end)) === 6;
  }
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h === 'localhost' || isIP(h) === 4;
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Starts the offline inspector. The returned `inspect` goes to `createActor`; actors created
 * with it (and all their descendants) appear on the page.
 */
export async function startInspector(opts: InspectorOptions = {}): Promise<Inspector> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.logger ?? silentLogger;
  const title = opts.title ?? 'truco';
  const treeThrottleMs = opts.treeThrottleMs ?? 150;
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [path, a] of Object.entries(ASSETS)) assets.set(path, { body: readFileSync(join(PAGE_DIR, a.file)), type: a.type });

  const hub = createHub(opts.hub);
  const streams = new Set<ServerResponse>();
  const MAX_STREAMS = 32;

  // ---- tree notifications: one timer for all pages, at most one per treeThrottleMs ----------
  let treeTimer: NodeJS.Timeout | null = null;
  let lastTree = 0;
  const sendTree = () => {
    treeTimer = null;
    lastTree = Date.now();
    const data = `event: tree\ndata: ${JSON.stringify(hub.stats())}\n\n`;
    for (const s of streams) s.write(data);
  };
  hub.onTreeChange(() => {
    if (treeTimer || streams.size === 0) return;
    treeTimer = setTimeout(sendTree, Math.max(0, lastTree + treeThrottleMs - Date.now()));
    treeTimer.unref();
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(text);
  };

  const int = (v: string | null, def: number) => {
    if (v === null || !/^\d+$/.test(v)) return def;
    return Number(v);
  };

  function stream(req: IncomingMessage, res: ServerResponse, uid: string | null): void {
    if (streams.size >= MAX_STREAMS) return json(res, 503, { error: 'too many inspector pages open' });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    streams.add(res);
    res.write(`retry: 1000\nevent: tree\ndata: ${JSON.stringify(hub.stats())}\n\n`);
    let unwatch: (() => void) | null = null;
    if (uid) {
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      unwatch = hub.watch(uid, {
        view: (v: ActorView) => send('view', v),
        log: (entries: LogEntry[]) => send('log', { reset: false, entries }),
        gone: () => send('gone', { uid }),
      });
      // the current view and log first, on the same channel, so no update can overtake them
      const view = unwatch ? hub.view(uid) : null;
      if (view) {
        send('view', view);
        send('log', { reset: true, entries: hub.log(uid) });
      } else send('gone', { uid });
    }
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    const done = () => {
      clearInterval(ping);
      unwatch?.();
      streams.delete(res);
    };
    req.on('close', done);
    res.on('error', done);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('forbidden: use the address printed at start (an IP address or localhost)');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://inspector');
    const asset = assets.get(url.pathname);
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.length,
        'cache-control': 'no-cache',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    const q = url.searchParams;
    switch (url.pathname) {
      case '/api/info':
        return json(res, 200, { title, pid: process.pid, stats: hub.stats() });
      case '/api/children': {
        const parent = q.get('parent') || null;
        const r = hub.children(parent, { q: q.get('q') ?? '', offset: int(q.get('offset'), 0), limit: int(q.get('limit'), 100) });
        return r ? json(res, 200, r) : json(res, 404, { error: 'no such actor' });
      }
      case '/api/search':
        return json(res, 200, hub.search(q.get('q') ?? '', Math.min(500, int(q.get('limit'), 100))));
      case '/api/actor': {
        const id = q.get('id') ?? '';
        const view = hub.view(id);
        return view ? json(res, 200, { view, log: hub.log(id) }) : json(res, 404, { error: 'no such actor' });
      }
      case '/api/chart': {
        const chart = hub.chart(q.get('key') ?? '');
        return chart ? json(res, 200, chart) : json(res, 404, { error: 'no such chart' });
      }
      case '/api/stream':
        return stream(req, res, q.get('id'));
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
    }
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      log.error('inspector.request_failed', { error: String(e) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  server.on('clientError', (_e, socket) => socket.destroy());

  const wanted = opts.port ?? DEFAULT_INSPECT_PORT;
  try {
    await listen(server, wanted, host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' && opts.port === undefined) {
      log.warn('inspector.default_port_in_use', { port: wanted });
      await listen(server, 0, host);
    } else {
      hub.close();
      if (code === 'EADDRINUSE') throw new InspectorPortInUse(host, wanted);
      throw new Error(`the inspector cannot listen on ${host}:${wanted}: ${(e as Error).message}`);
    }
  }
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host;
  const url = `http://${shown}:${port}/`;
  log.info('inspector.started', { url, host });

  let stopped = false;
  return {
    url,
    port,
    hub,
    inspect: (ev) => hub.observe(ev),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (treeTimer) clearTimeout(treeTimer);
      hub.close();
      for (const s of streams) s.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
