import { Client } from 'pg';

export interface PgListenerOptions {
  readonly url: string;
  /** Shows in pg_stat_activity. */
  readonly applicationName: string;
  readonly channels: readonly string[];
  /** A notification on one of the channels (payload as sent, '' when none). */
  readonly onNotification: (channel: string, payload: string) => void;
  /**
   * The listener is (again) connected and listening: notifications sent while it was not are
   * lost, so whatever they guard must be reset here.
   */
  readonly onListening: () => void;
  /** The connection is lost: caches it guards must not be trusted until onListening. */
  readonly onLost: (error: unknown) => void;
  /** Reconnect backoff bounds (doubling from the first to the cap). */
  readonly retryFirstMs?: number;
  readonly retryMaxMs?: number;
}

/**
 * One dedicated PostgreSQL connection that LISTENs on a few channels and reconnects forever (with
 * backoff) until closed. `listening` is true only between a successful LISTEN and the next loss,
 * so a cache can trust its notifications exactly while it is true.
 */
export class PgListener {
  private client: Client | undefined;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  listening = false;

  constructor(private readonly options: PgListenerOptions) {
    for (const channel of options.channels) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`bad LISTEN channel name "${channel}"`);
    }
  }

  /** Resolves after the first attempt (listening or not: a failed start keeps retrying). */
  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.listening = false;
    const client = this.client;
    this.client = undefined;
    // Bounded: a connection that no longer answers (a cut network) must not hold up a shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client?.end().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, 1_000))),
    ]);
    clearTimeout(timer);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    this.client = client;
    let lost = false;
    const onLost = (error: unknown) => {
      if (lost) return;
      lost = true;
      this.listening = false;
      this.options.onLost(error);
      client.end().catch(() => undefined);
      if (this.client === client) this.client = undefined;
      this.scheduleRetry();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('listener connection ended')));
    client.on('notification', (message) => {
      this.options.onNotification(message.channel, message.payload ?? '');
    });
    try {
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN ${channel}`);
      if (lost || this.closed) return;
      this.failures = 0;
      this.listening = true;
      this.options.onListening();
    } catch (error) {
      onLost(error);
    }
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    this.failures += 1;
    const first = this.options.retryFirstMs ?? 100;
    const max = this.options.retryMaxMs ?? 5_000;
    const delay = Math.min(max, first * 2 ** Math.min(this.failures - 1, 16));
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
