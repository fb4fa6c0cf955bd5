import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { isEmbeddedDatabase } from '../../database/embedded-database';
import { runInBackground } from '../../database/priority-pool';
import type { MailboxCredentials, MailboxDirectory, MailboxRecord, MailboxState } from '../../mailboxes/mailbox';
import { MailboxCredentialsService } from '../../mailboxes/mailbox-credentials.service';
import { MailboxDirectoryService } from '../../mailboxes/mailbox-directory.service';
import { yieldToApi } from '../../runtime/api-activity';
import { InboundMailService } from '../inbound-mail.service';
import { EMBEDDED_IMPORT_CONCURRENCY, IMPORT_CONCURRENCY } from './imap-import-round';
import { ImapLocation, parseImapLocation, parseImapUrl } from './imap-url';
import { MailboxCursorStore } from './mailbox-cursor.store';
import { createLeadership, Leadership } from './mailbox-leader-lock';
import { describeImapError, MailboxPoller, PollerOutcome, PollerReport, PollerState } from './mailbox-poller';
import { MailboxRepository, type MailboxStore } from './mailbox.repository';
import { PollSignal } from './poll-signal';
import { shareOut } from './share-out';

export {
  backoffDelay,
  IMAP_CONNECTION_TIMEOUT_MS,
  IMAP_GREETING_TIMEOUT_MS,
  IMAP_IDLE_RESTART_MS,
  IMAP_LOGOUT_TIMEOUT_MS,
  IMAP_SOCKET_TIMEOUT_MS,
} from './mailbox-poller';

/** How often the supervisor looks at the mailboxes and the other instances: unled mailboxes are tried this often. */
export const LEADERSHIP_TICK_MS = 1_000;

/** What the health endpoint reports about the default mailbox's IMAP (the `imap` field, as before issue 18). */
export interface ImapPollerStatus {
  /** False when the default mailbox has no IMAP URL (IMAP_URL is not set). */
  enabled: boolean;
  /** This instance leads the mailbox and imports from it. */
  leader: boolean;
  lastSuccessAt: Date | null;
  /** The latest failure, while no round has succeeded since (null once one has). */
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Messages above the cursor at the last look (null when not known). */
  backlog: number | null;
}

/** One mailbox's poller, as health and metrics show it. */
export interface MailboxPollerStatus extends Omit<ImapPollerStatus, 'enabled'> {
  mailboxId: number;
  address: string;
  isDefault: boolean;
  /** The mailbox has an IMAP URL (else: no poller, and only `state` says anything). */
  imap: boolean;
  /** The mailbox's state (`error` after a failed round; `needs_reauthorization` and `disabled` are not polled). */
  state: MailboxState;
}

/** What the supervisor needs of the directory (MailboxDirectoryService). */
export type PollerDirectory = MailboxDirectory & Pick<MailboxDirectoryService, 'fresh' | 'recordPollerStatus'>;

/** A mailbox this instance leads: its poller runs (or is finishing, `stopping`). */
interface Led {
  mailbox: MailboxRecord;
  key: string;
  /** What a change of restarts the session (URL, secrets, OAuth2 settings). */
  fingerprint: string;
  poller: MailboxPoller;
  stopping: boolean;
}

/** An IMAP mailbox that should be polled, with where. */
interface Wanted {
  mailbox: MailboxRecord;
  location: ImapLocation;
  fingerprint: string;
}

/**
 * Imports mail from every active mailbox that has an IMAP URL (the default one's is IMAP_URL), one
 * MailboxPoller per mailbox this instance leads. About every second (LEADERSHIP_TICK_MS) and at
 * every change of the directory (MailboxDirectory.onChange) it reconciles:
 *
 * - a mailbox gone, disabled, waiting for re-authorization or without IMAP URL: its poller stops
 *   (after the current message) and the mailbox is given up; one whose URL, secrets or OAuth2
 *   settings changed: its session is restarted;
 * - the share-out: with N polled mailboxes and I live instances (Leadership.instances), an instance
 *   leads at most ceil(N / I): it gives the extra ones up when an instance appears, and tries the
 *   mailboxes nobody leads while it has room (so a dead instance's are taken over at the next look).
 *
 * Leadership is one PostgreSQL session per instance for every mailbox it leads (PgLeadership; an
 * in-process lock on the embedded database). Every poller has its own cursor (mailbox_cursors,
 * keyed by its IMAP key as before, so an upgraded deployment re-imports nothing). Shutdown
 * finishes each current message, gives everything up and logs out.
 */
@Injectable()
export class ImapPollerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ImapPollerService.name);
  private readonly signal = new PollSignal();
  private readonly led = new Map<number, Led>();
  /** Mailboxes whose credentials said unavailable, with the version they said it at: left alone until it changes. */
  private readonly halted = new Map<number, number>();
  /** Mailboxes whose IMAP URL could not be parsed, with the version (logged once). */
  private readonly invalid = new Map<number, number>();
  private leadership: Leadership | null = null;
  private embedded = false;
  private loop: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private lastFailure = '';
  private readonly report: PollerReport;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly inbound: InboundMailService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(MailboxRepository) private readonly cursors: MailboxStore,
    @Inject(MailboxDirectoryService) private readonly directory: PollerDirectory,
    @Inject(MailboxCredentialsService) private readonly credentials: MailboxCredentials,
  ) {
    // A misconfigured IMAP_URL fails the start, as before: the password lives only there.
    if (config.imap.url) parseImapUrl(config.imap.url);
    this.report = {
      succeeded: (m, at, backlog) => directory.recordPollerStatus(m.id, { ok: true, at, backlog }),
      failed: (m, error, at, backlog) => directory.recordPollerStatus(m.id, { ok: false, at, error, backlog }),
    };
  }

  /** Starts the supervisor in the background (never delays bootstrap); not in the CLI. */
  onApplicationBootstrap(): void {
    if (!this.config.workers) return;
    this.scheduler.addInterval(
      'imap-leadership',
      setInterval(() => this.signal.poke(), LEADERSHIP_TICK_MS),
    );
    this.scheduler.addInterval(
      'imap-poll',
      setInterval(() => this.led.forEach((l) => l.poller.poke()), this.config.imap.pollSeconds * 1000),
    );
    this.unsubscribe = this.directory.onChange(() => this.signal.poke());
    // Background work, the imports included: the API gets the database's connections first (PriorityPool).
    this.loop = runInBackground(() => this.run()).catch((e) =>
      this.logger.error(`IMAP supervisor stopped: ${describeImapError(e)}`),
    );
  }

  /** Finishes each current message, gives every mailbox up and logs out. */
  async onModuleDestroy(): Promise<void> {
    if (!this.loop) return;
    this.signal.stop();
    this.unsubscribe?.();
    for (const name of ['imap-leadership', 'imap-poll'])
      if (this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    await this.loop;
    this.loop = null;
    await Promise.all([...this.led.values()].map((l) => this.giveUp(l, null)));
    await this.leadership?.close();
  }

  /** The default mailbox's poller, for the health endpoint's `imap` field. */
  async status(): Promise<ImapPollerStatus> {
    return this.defaultStatus(await this.statuses());
  }

  /** The default mailbox's entry of `statuses()`, in the `imap` field's shape. */
  defaultStatus(statuses: MailboxPollerStatus[]): ImapPollerStatus {
    const own = statuses.find((s) => s.isDefault && s.imap);
    if (!own) {
      // The default mailbox's row is missing (database away at start): IMAP_URL says.
      const enabled = !!this.config.imap.url && !statuses.some((s) => s.isDefault);
      return { enabled, leader: false, lastSuccessAt: null, lastError: null, lastErrorAt: null, backlog: null };
    }
    return {
      enabled: true,
      leader: own.leader,
      lastSuccessAt: own.lastSuccessAt,
      lastError: own.lastError,
      lastErrorAt: own.lastErrorAt,
      backlog: own.backlog,
    };
  }

  /**
   * Every mailbox and its poller, by mailbox id: what this instance's poller knows for those it
   * leads, what the mailbox's row says now (written by whichever instance leads it) for the others.
   * The rows are read afresh (the directory's cache does not follow the pollers' reports); when
   * that read fails, as the directory last read them.
   */
  async statuses(): Promise<MailboxPollerStatus[]> {
    const rows = await this.directory.fresh().catch(() => this.directory.all());
    return rows.map((m) => {
      const led = this.led.get(m.id);
      const leading = !!led && !led.stopping;
      const state: PollerState = leading ? led.poller.state : rowState(m);
      return {
        mailboxId: m.id,
        address: m.address,
        isDefault: m.isDefault,
        imap: !!m.imapUrl,
        state: m.state,
        leader: leading,
        ...state,
      };
    });
  }

  private async run(): Promise<void> {
    this.embedded = await isEmbeddedDatabase(this.dataSource).catch(() => false);
    while (!this.signal.isStopped) {
      try {
        await this.reconcile();
        this.lastFailure = '';
      } catch (e) {
        if (this.signal.isStopped) break;
        const message = describeImapError(e);
        // Once per distinct failure: the tick repeats every second.
        if (message !== this.lastFailure) this.logger.warn(`IMAP mailboxes: ${message}`);
        this.lastFailure = message;
      }
      await this.signal.wait();
    }
  }

  /** One look at the mailboxes and the other instances (see the class). */
  private async reconcile(): Promise<void> {
    this.leadership ??= await createLeadership(this.dataSource);
    const leadership = this.leadership;
    let instances: number;
    try {
      instances = await leadership.instances();
    } catch (e) {
      // The session is gone and every lock with it: another instance may be importing already.
      for (const l of this.led.values()) if (!l.stopping) void this.giveUp(l, 'leadership session lost');
      throw e;
    }
    const all = await this.directory.all();
    if (this.signal.isStopped) return;
    const wanted = this.wanted(all.filter((m) => m.imapUrl));

    for (const l of this.led.values()) {
      if (l.stopping) continue;
      const w = wanted.get(l.mailbox.id);
      if (!w) void this.giveUp(l, 'no longer polled');
      else if (w.fingerprint !== l.fingerprint) void this.giveUp(l, 'settings changed: restarting its session');
      else if (!leadership.leads(l.key)) void this.giveUp(l, 'leadership lost');
      else {
        l.mailbox = w.mailbox;
        l.poller.update(w.mailbox);
      }
    }

    const leading = [...this.led.values()].filter((l) => !l.stopping);
    const { giveUp, room } = shareOut(leading, wanted.size, instances);
    for (const l of giveUp) void this.giveUp(l, `shared out (${instances} instances)`);
    let taken = 0;
    if (room === 0) return;
    const busy = new Set([...this.led.values()].map((l) => l.key));
    for (const w of shuffle([...wanted.values()])) {
      if (taken >= room || this.signal.isStopped) break;
      if (this.led.has(w.mailbox.id) || busy.has(w.location.key)) continue;
      if (!(await leadership.tryLead(w.location.key))) continue;
      busy.add(w.location.key);
      this.lead(w);
      taken++;
    }
  }

  /** The mailboxes to poll now, by id: active (or in error), with a usable IMAP URL, not halted. */
  private wanted(mailboxes: MailboxRecord[]): Map<number, Wanted> {
    const wanted = new Map<number, Wanted>();
    for (const m of mailboxes) {
      if (this.halted.has(m.id) && this.halted.get(m.id) !== m.version) this.halted.delete(m.id);
      if (m.state !== 'active' && m.state !== 'error') continue;
      if (this.halted.has(m.id)) continue;
      let location: ImapLocation;
      try {
        location = parseImapLocation(m.imapUrl!);
        this.invalid.delete(m.id);
      } catch (e) {
        if (this.invalid.get(m.id) !== m.version)
          this.logger.warn(`mailbox ${m.id}: ${(e as Error).message.replace('IMAP_URL', 'its IMAP URL')}`);
        this.invalid.set(m.id, m.version);
        continue;
      }
      wanted.set(m.id, { mailbox: m, location, fingerprint: fingerprint(m) });
    }
    const ids = new Set(mailboxes.map((m) => m.id));
    for (const id of this.halted.keys()) if (!ids.has(id)) this.halted.delete(id);
    return wanted;
  }

  /** Starts the poller of a mailbox this instance has just taken. */
  private lead(w: Wanted): void {
    const { mailbox, location } = w;
    const leadership = this.leadership!;
    const embedded = this.embedded;
    const poller = new MailboxPoller({
      mailbox,
      location,
      cursor: new MailboxCursorStore(this.cursors, location.key),
      credentials: this.credentials,
      report: this.report,
      confirmLeadership: () => leadership.confirm(location.key),
      ingest: async (raw) => {
        // On the embedded database the API and the import share the CPU too: each mail waits
        // (briefly) for the requests in flight.
        if (embedded) await yieldToApi();
        return this.inbound.ingest(raw, 'imap', { mailboxId: mailbox.id, handOver: true });
      },
      concurrency: embedded ? EMBEDDED_IMPORT_CONCURRENCY : IMPORT_CONCURRENCY,
      moveTo: this.config.imap.moveTo,
      idle: this.config.imap.idle,
      noopMs: this.config.imap.noopMs,
    });
    const led: Led = { mailbox, key: location.key, fingerprint: w.fingerprint, poller, stopping: false };
    this.led.set(mailbox.id, led);
    this.logger.log(
      `leading mailbox ${mailbox.id} ${location.key} (every ${this.config.imap.pollSeconds} s, ${pushMode(this.config)})`,
    );
    void runInBackground(() => poller.start()).then((outcome) => this.ended(led, outcome));
  }

  /** A poller's loop ended by itself: give the mailbox up (and leave it alone while unavailable). */
  private ended(led: Led, outcome: PollerOutcome): void {
    if (outcome === 'unavailable') this.halted.set(led.mailbox.id, led.mailbox.version);
    if (!led.stopping) void this.giveUp(led, outcome === 'lost' ? 'leadership lost' : null);
  }

  /** Stops the poller (after its current message), then releases the mailbox; looks again at once. */
  private async giveUp(led: Led, why: string | null): Promise<void> {
    if (led.stopping) return;
    led.stopping = true;
    if (why) this.logger.log(`giving up mailbox ${led.mailbox.id} ${led.key}: ${why}`);
    try {
      await led.poller.stop();
    } finally {
      await this.leadership?.release(led.key);
      if (this.led.get(led.mailbox.id) === led) this.led.delete(led.mailbox.id);
      this.signal.poke();
    }
  }
}

/** What restarts a mailbox's session when it changes: where and how it logs in (not its access token). */
function fingerprint(m: MailboxRecord): string {
  return JSON.stringify([m.imapUrl, m.imapSecret, m.oauth2, m.oauth2ClientSecret, m.oauth2RefreshSecret]);
}

/** A poller's state as the mailbox's row has it. */
function rowState(m: MailboxRecord): PollerState {
  const failing = !!m.lastErrorAt && (!m.lastSuccessAt || m.lastErrorAt > m.lastSuccessAt);
  return {
    lastSuccessAt: m.lastSuccessAt,
    lastError: failing ? m.lastError : null,
    lastErrorAt: failing ? m.lastErrorAt : null,
    backlog: m.backlog,
  };
}

/** The items in a random order: instances starting together try different mailboxes first. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** How a poller hears of new mail between its polls, for the log. */
function pushMode(config: AppConfig): string {
  if (config.imap.noopMs > 0) return `a NOOP every ${config.imap.noopMs} ms`;
  return `IDLE ${config.imap.idle ? 'on' : 'off'}`;
}
