/**
 * A UDP proxy on 127.0.0.1 between clients and the server that records every
 * datagram in both directions, so tests can look for secrets on the wire and
 * replay captured traffic from the client's (proxied) address.
 */
import dgram from 'node:dgram';

export interface Captured {
  dir: 'up' | 'down';
  bytes: Buffer;
  /** the client's source port (as the proxy saw it) */
  client: number;
}

export interface Proxy {
  port: number;
  captured: Captured[];
  /** sends bytes to the server from the upstream socket of `clientPort` (as if the client sent them) */
  replayUp(clientPort: number, bytes: Uint8Array): void;
  /**
   * Closes the upstream socket of `clientPort`: the client's next datagram goes out from a new
   * one, so the server sees the client move to a new address (roaming, as after a NAT rebinding).
   * Whatever is sent to the old address is lost.
   */
  rebind(clientPort: number): void;
  /** sends bytes to the client as if from the server's address (a spoofer on the LAN) */
  injectDown(clientPort: number, bytes: Uint8Array): void;
  /** decides per upstream datagram: 'drop' keeps it from the server (default: everything passes) */
  filterUp: ((bytes: Buffer, clientPort: number) => 'pass' | 'drop') | null;
  close(): Promise<void>;
}

export async function startProxy(serverHost: string, serverPort: number): Promise<Proxy> {
  const front = dgram.createSocket('udp4');
  const uplinks = new Map<number, dgram.Socket>();
  const captured: Captured[] = [];
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  const uplink = (clientPort: number): dgram.Socket => {
    let u = uplinks.get(clientPort);
    if (!u) {
      const sock = dgram.createSocket('udp4');
      sock.bind(0, '127.0.0.1');
      sock.on('message', (msg) => {
        captured.push({ dir: 'down', bytes: Buffer.from(msg), client: clientPort });
        front.send(msg, clientPort, '127.0.0.1');
      });
      sock.on('error', () => {});
      uplinks.set(clientPort, sock);
      u = sock;
    }
    return u;
  };
  front.on('message', (msg, rinfo) => {
    captured.push({ dir: 'up', bytes: Buffer.from(msg), client: rinfo.port });
    if (proxy.filterUp?.(msg, rinfo.port) === 'drop') return;
    uplink(rinfo.port).send(msg, serverPort, serverHost);
  });
  front.on('error', () => {});
  const proxy: Proxy = {
    port: front.address().port,
    filterUp: null,
    injectDown(clientPort, bytes) {
      front.send(bytes, clientPort, '127.0.0.1');
    },
    captured,
    replayUp(clientPort, bytes) {
      uplink(clientPort).send(bytes, serverPort, serverHost);
    },
    rebind(clientPort) {
      const u = uplinks.get(clientPort);
      if (!u) return;
      uplinks.delete(clientPort);
      u.close();
    },
    async close() {
      for (const u of uplinks.values()) u.close();
      await new Promise<void>((r) => front.close(() => r()));
    },
  };
  return proxy;
}
