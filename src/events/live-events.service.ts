import { BadRequestException, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { ServerResponse } from 'node:http';
import { DataSource } from 'typeorm';
import type { AuthOperator } from '../common/auth.decorators';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { isEmbeddedDatabase } from '../database/embedded-database';
import { sessionUrl } from '../database/pooler';
import { onRequestEventsWritten } from '../requests/request-events-signal';
import { requestScope } from '../requests/request-scope';
import { apiRequestDetached } from '../runtime/api-activity';
import { LiveEventStream } from './live-event-stream';
import { DEFAULT_TIMING, LiveEventsHub } from './live-events.hub';
import { LiveEventsRepository } from './live-events.repository';
import { NotifyListener } from './notify-listener';

/** Bytes a client may leave unread before it is dropped (about 1,000 events). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Live events kept for a stream while it replays what it missed. */
export const MAX_QUEUED = 10_000;
/** The `retry:` hint sent to EventSource. */
export const RETRY_MS = 3_000;
/** How often the hub reads the log unwoken while LISTEN is up (a safety net); down, or on the embedded database: DEFAULT_TIMING.pollMs. */
const POLL_WITH_LISTEN_MS = 30_000;

/** The HTTP answer a stream is written to: the route's reply, taken over from the framework. */
export interface StreamReply {
  /** Node's response, written from then on by the stream. */
  raw: ServerResponse;
  /** The headers set so far (security headers, X-Request-Id), sent with the stream's. */
  headers(): Record<string, string | number | string[] | undefined>;
  /** Tells the framework that the route writes its answer itself. */
  hijack(): void;
}

/** The largest Last-Event-ID taken (a bigserial id; beyond, 400). */
const MAX_EVENT_ID = Number.MAX_SAFE_INTEGER;

/**
 * Last-Event-ID as sent (the header, else `?lastEventId=`): a non-negative integer, or undefined
 * for none (an empty header is none, as EventSource sends no header on its first connection).
 */
export function parseLastEventId(raw: string | undefined): number | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) > MAX_EVENT_ID)
    throw new BadRequestException('Last-Event-ID must be the id of an event (a non-negative integer)');
  return Number(value);
}

/**
 * Live events (GET /events/stream): the streams of this instance, the hub that feeds them, and how
 * the hub hears of new events. On PostgreSQL: NOTIFY from every instance through one LISTEN
 * connection (started with the first stream; each instance NOTIFYs after its commits: announce),
 * plus this process's own commits at once. On the
 * embedded database (one instance, one session: no session is held for LISTEN there), this
 * process's commits, and a poll every 2 s while streams are open as a safety net.
 */
@Injectable()
export class LiveEventsService implements OnModuleDestroy {
  private readonly logger = new Logger('LiveEvents');
  private readonly hub: LiveEventsHub;
  private readonly perOperator = new Map<number, number>();
  private total = 0;
  private listener: NotifyListener | null = null;
  private listening: Promise<void> | null = null;
  private readonly unsubscribe: () => void;
  /** announce(): a NOTIFY in flight, another one asked for meanwhile, whether the database is the embedded one. */
  private announcing = false;
  private announceAgain = false;
  private embedded: boolean | undefined;
  private closed = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly store: LiveEventsRepository,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'events'>,
  ) {
    this.hub = new LiveEventsHub(store, DEFAULT_TIMING, (e) =>
      this.logger.warn(`reading the event log failed: ${e instanceof Error ? e.message : String(e)}`),
    );
    this.unsubscribe = onRequestEventsWritten(dataSource, () => {
      this.hub.wake();
      this.announce();
    });
  }

  /**
   * Tells the other instances (their LISTEN) that this one committed request events: after the
   * commit, one NOTIFY at a time, the commits made meanwhile folded into the next one. On
   * PostgreSQL only (the embedded database is one instance). A NOTIFY lost to a crash right after
   * a commit is made up by the other instances' poll (POLL_WITH_LISTEN_MS).
   */
  private announce(): void {
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    this.announcing = true;
    void (async () => {
      try {
        this.embedded ??= await isEmbeddedDatabase(this.dataSource);
        if (this.embedded) return;
        do {
          this.announceAgain = false;
          await this.store.announce();
        } while (this.announceAgain && !this.closed);
      } catch (e) {
        if (!this.closed)
          this.logger.warn(`notifying the other instances failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.announcing = false;
      }
    })();
  }

  /** Streams open (or opening) on this instance. */
  get streams(): number {
    return this.total;
  }

  /**
   * Opens a stream on `res` for `operator` (429 past the limits, before anything is written), from
   * `lastEventId` (a resume: the missed events first) or from now. Resolves once it is live.
   */
  async open(reply: StreamReply, operator: AuthOperator, lastEventId?: number): Promise<void> {
    const res = reply.raw;
    const { maxStreams, maxStreamsPerOperator, heartbeatSeconds } = this.config.events;
    const mine = this.perOperator.get(operator.id) ?? 0;
    if (this.total >= maxStreams)
      throw new TooManyRequestsException(`this instance serves ${maxStreams} live event streams already`, 5);
    if (mine >= maxStreamsPerOperator)
      throw new TooManyRequestsException(
        `you have ${maxStreamsPerOperator} live event streams open already: close one (EVENTS_MAX_STREAMS_PER_OPERATOR)`,
        5,
      );
    // Counted at once (before any await), so that concurrent calls cannot pass the limits together.
    this.total++;
    this.perOperator.set(operator.id, mine + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.total--;
      const n = (this.perOperator.get(operator.id) ?? 1) - 1;
      if (n > 0) this.perOperator.set(operator.id, n);
      else this.perOperator.delete(operator.id);
    };
    const scope = requestScope(operator);
    let stream: LiveEventStream | undefined;
    let position: number;
    try {
      await this.listen();
      // Placeholder `after`, set from the hub's position below (before any event can reach it).
      stream = new LiveEventStream(
        res,
        operator,
        Number.MAX_SAFE_INTEGER,
        {
          maxBufferedBytes: MAX_BUFFERED_BYTES,
          maxQueued: MAX_QUEUED,
          heartbeatMs: heartbeatSeconds * 1000,
          retryMs: RETRY_MS,
        },
        () => {
          release();
          if (stream) this.hub.unsubscribe(stream);
        },
      );
      position = await this.hub.subscribe(stream);
      // From now, or from the client's last event when the log has it (an id beyond the newest,
      // from a database since restored, say, would wait for ids it may never see: from now then).
      let after = position;
      if (lastEventId !== undefined && lastEventId < position) after = lastEventId;
      else if (lastEventId !== undefined && lastEventId > position && lastEventId <= (await this.store.latestId()))
        after = lastEventId;
      stream.resumeAfter(after);
      // The client left while the stream was being set up: its end came before it joined the hub.
      if (stream.isEnded) {
        this.hub.unsubscribe(stream);
        reply.hijack();
        return;
      }
    } catch (e) {
      release();
      if (stream) this.hub.unsubscribe(stream);
      throw e;
    }
    reply.hijack();
    res.writeHead(200, {
      ...reply.headers(),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    apiRequestDetached(res);
    stream.open();
    const upTo = position;
    try {
      await stream.replay(upTo, (after) => this.store.replay(after, upTo, scope));
    } catch (e) {
      // The answer has begun: no error body now. The client reconnects and resumes.
      this.logger.warn(`replaying missed events failed: ${e instanceof Error ? e.message : String(e)}`);
      res.destroy();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.hub.close();
    await this.listener?.stop();
  }

  /** Starts the LISTEN connection with the first stream, on PostgreSQL only. */
  private listen(): Promise<void> {
    this.listening ??= (async () => {
      if (await isEmbeddedDatabase(this.dataSource)) return;
      // DATABASE_DIRECT_URL when set: LISTEN needs a session of its own (docs/pgbouncer.md).
      const url = sessionUrl(this.dataSource);
      if (!url) return;
      this.listener = new NotifyListener(url, {
        notified: () => this.hub.wake(),
        state: (up, error) => {
          this.hub.setPollMs(up ? POLL_WITH_LISTEN_MS : DEFAULT_TIMING.pollMs);
          if (up) this.hub.wake();
          else this.logger.warn(`LISTEN connection lost, reconnecting: ${error?.message ?? 'closed'}`);
        },
      });
      this.listener.start();
    })().catch((e) => {
      this.listening = null;
      throw e;
    });
    return this.listening;
  }
}
