// A TCP proxy a spec can break: between a service and PostgreSQL (or any TCP dependency) it forwards
// bytes until told to refuse new connections (close the listener: ECONNREFUSED), to reset the open
// ones (ECONNRESET / "Connection terminated"), or to swallow them (accept, never answer: timeouts).
import net from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  readonly url: (databaseUrl: string) => string;
  mode(): ProxyMode;
  /** forward: normal; refuse: nothing listens on the port; blackhole: accepts, never answers. */
  setMode(mode: ProxyMode): Promise<void>;
  /** Destroys every open connection (both sides), as a restarting server does. */
  resetConnections(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward';
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const onConnection = (client: net.Socket) => {
    track(client);
    if (mode === 'blackhole') return;
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  let server = net.createServer(onConnection);
  const listen = (at: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  const bound = await listen(port);
  const closeListener = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const resetConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: bound,
    url: (databaseUrl) => {
      const u = new URL(databaseUrl);
      u.hostname = '127.0.0.1';
      u.port = String(bound);
      return u.toString();
    },
    mode: () => mode,
    async setMode(next) {
      if (next === mode) return;
      if (next === 'refuse') {
        mode = next;
        await Promise.all([closeListener(), Promise.resolve(resetConnections())]);
        return;
      }
      if (mode === 'refuse') {
        server = net.createServer(onConnection);
        await listen(bound);
      }
      mode = next;
    },
    resetConnections,
    async close() {
      resetConnections();
      if (mode !== 'refuse') await closeListener();
      mode = 'refuse';
    },
  };
}
