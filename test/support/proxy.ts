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
    uplink(rinfo.port).send(msg, serverPort, serverHost);
  });
  front.on('error', () => {});
  return {
    port: front.address().port,
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
}
