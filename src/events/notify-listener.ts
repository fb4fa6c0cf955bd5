import { Client } from 'pg';

/** The channel the request_events trigger NOTIFYs (migrations/1764950000000-LiveEvents.ts). */
export const EVENTS_CHANNEL = 'maildesk_events';

/** First wait before reconnecting; doubled on each failure up to MAX_BACKOFF_MS. */
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export interface NotifyListenerEvents {
  /** A transaction that wrote events committed (on any instance). */
  notified(): void;
  /** LISTEN is in place (true: also after a reconnect, when notifications may have been missed) or lost (false). */
  state(up: boolean, error?: Error): void;
}

/**
 * One dedicated connection per instance that LISTENs on EVENTS_CHANNEL, outside the pool (a
 * pooled connection would be handed to other work; LISTEN belongs to a session). It reconnects
 * with backoff (with jitter) when the server or the network drops it; each time it is up again it
 * says so, and the hub reads the log then: what was committed while it was down is caught up
 * from the table, never from notifications. It needs a session of its own on the server itself:
 * behind PgBouncer in transaction mode, point it at PostgreSQL directly.
 */
export class NotifyListener {
  private client: Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private backoff = MIN_BACKOFF_MS;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly on: NotifyListenerEvents,
  ) {}

  start(): void {
    this.stopped = false;
    if (!this.client && !this.timer) void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.url,
      application_name: 'maildesk live events',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    this.client = client;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.on.state(false, error);
      this.reconnectLater();
    };
    client.on('error', (e) => onLost(e));
    client.on('end', () => onLost());
    client.on('notification', (n) => {
      if (n.channel === EVENTS_CHANNEL) this.on.notified();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (e) {
      onLost(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (lost || this.stopped) return;
    this.backoff = MIN_BACKOFF_MS;
    this.on.state(true);
  }

  private reconnectLater(): void {
    const wait = this.backoff * (0.5 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) void this.connect();
    }, wait);
    this.timer.unref();
  }
}
