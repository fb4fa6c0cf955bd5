import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { runInBackground } from '../database/priority-pool';
import { withoutPassword } from './mail-url';
import type { MailboxDirectory, MailboxRecord } from './mailbox';
import { addressesOf, MailboxesRepository, type MailboxesStore } from './mailboxes.repository';

/** How often the cache asks the database whether any mailbox changed (one cheap statement). */
export const DIRECTORY_REFRESH_MS = 2_000;

/** Every mailbox as read at one moment, indexed. */
interface Snapshot {
  /** The probe's answer when these rows were read. */
  probe: string;
  /** When the probe last confirmed these rows (ms since the epoch). */
  checkedAt: number;
  all: MailboxRecord[];
  byId: Map<number, MailboxRecord>;
  /** Address or alias -> mailbox, disabled mailboxes left out (mail for them goes to the default). */
  routes: Map<string, MailboxRecord>;
  own: ReadonlySet<string>;
  defaultMailbox: MailboxRecord | undefined;
}

/**
 * Every mailbox, as this instance knows them: read once, cached, and checked every
 * DIRECTORY_REFRESH_MS by a probe of the rows' count and versions (reloaded when it changed, and
 * at once after this instance's own writes: `changed()`). The checks never overlap and never
 * throw: while the database cannot be reached the last rows read are served. Listeners of
 * `onChange` are called after a reload that saw a change.
 *
 * The default mailbox (SUPPORT_ADDRESS, SUPPORT_NAME) is made sure of at bootstrap, and lazily
 * when asked before; its record carries IMAP_URL and SMTP_URL without their passwords.
 */
@Injectable()
export class MailboxDirectoryService implements MailboxDirectory, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Mailboxes');
  private snapshot: Snapshot | null = null;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** The load in progress; loads run one after the other. */
  private loading: Promise<Snapshot> | null = null;
  /** A load was asked for while one ran: run one more after it (it may have read before the change). */
  private reloadQueued: Promise<Snapshot> | null = null;
  private defaultEnsured: Promise<void> | null = null;
  private lastFailure: string | null = null;

  constructor(
    @Inject(MailboxesRepository) private readonly store: MailboxesStore,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'mail' | 'imap' | 'smtp' | 'workers'>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.ensureDefault();
      await this.load(true);
    } catch (e) {
      this.logger.error(`could not read the mailboxes at start (retried when needed): ${(e as Error).message}`);
    }
    if (!this.config.workers) return;
    this.timer = setInterval(() => void this.tick(), DIRECTORY_REFRESH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.loading?.catch(() => undefined);
    await this.reloadQueued?.catch(() => undefined);
  }

  async all(): Promise<MailboxRecord[]> {
    return [...(await this.current()).all];
  }

  async get(id: number): Promise<MailboxRecord | null> {
    return (await this.current()).byId.get(id) ?? null;
  }

  async defaultMailbox(): Promise<MailboxRecord> {
    let snap = await this.current();
    if (!snap.defaultMailbox) {
      this.defaultEnsured = null;
      await this.ensureDefault();
      snap = await this.load(true);
    }
    if (!snap.defaultMailbox) throw new Error('the default mailbox is missing');
    return snap.defaultMailbox;
  }

  async forRecipients(addresses: readonly string[]): Promise<MailboxRecord> {
    const snap = await this.current();
    for (const address of addresses) {
      const mailbox = snap.routes.get(address.trim().toLowerCase());
      if (mailbox) return mailbox;
    }
    return this.defaultMailbox();
  }

  async ownAddresses(): Promise<ReadonlySet<string>> {
    return (await this.current()).own;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Every mailbox read now, past the cache: the IMAP pollers' reports (`lastSuccessAt`, `lastError`,
   * `backlog`, `state` error/active), which bump no version, are as their leader last wrote them.
   * For health and metrics (one statement per call).
   */
  async fresh(): Promise<MailboxRecord[]> {
    const rows = await this.store.list();
    return rows.map((r) => (r.isDefault ? this.withEnvironment(r) : r));
  }

  /**
   * An IMAP poller's report after a round (MailboxesRepository.recordPollerStatus): the row's
   * `last_*` and `backlog`, the state `error` after a failure and `active` after a success (never
   * from or to another state); no version is bumped, so no instance reloads for it.
   */
  async recordPollerStatus(
    id: number,
    status:
      { ok: true; at: Date; backlog?: number | null } | { ok: false; at: Date; error: string; backlog?: number | null },
  ): Promise<void> {
    await this.store.recordPollerStatus(id, status);
  }

  /**
   * This instance changed a mailbox: reload now (after any load in progress, which may have read
   * before the change), so its own next read sees it; the listeners hear of it.
   */
  async changed(): Promise<void> {
    await this.load(true);
  }

  /** One timed check: never overlaps another, never throws. */
  async tick(): Promise<void> {
    if (this.loading) return;
    try {
      await runInBackground(() => this.load(false));
      if (this.lastFailure) this.logger.log('mailboxes read again');
      this.lastFailure = null;
    } catch (e) {
      const message = (e as Error).message;
      if (message !== this.lastFailure) this.logger.warn(`could not check the mailboxes for changes: ${message}`);
      this.lastFailure = message;
    }
  }

  /** The cached mailboxes; read first when there are none, checked when the timer is not keeping them fresh. */
  private async current(): Promise<Snapshot> {
    if (!this.snapshot) {
      await this.ensureDefault();
      return this.load(true);
    }
    if (Date.now() - this.snapshot.checkedAt > DIRECTORY_REFRESH_MS * 2) {
      try {
        return await this.load(false);
      } catch {
        return this.snapshot; // stale rather than failing: the database may be away for a moment
      }
    }
    return this.snapshot;
  }

  /** Creates or updates the default mailbox from the environment, once per process (again after a failure). */
  private ensureDefault(): Promise<void> {
    this.defaultEnsured ??= this.store
      .upsertDefault(this.config.mail.supportAddress, this.config.mail.supportName)
      .then(({ conflicts }) => {
        for (const address of conflicts) {
          this.logger.warn(
            `SUPPORT_ADDRESS or an alias of the default mailbox (${address}) is another mailbox's address: mail to it goes to that mailbox`,
          );
        }
      })
      .catch((e: unknown) => {
        this.defaultEnsured = null;
        throw e;
      });
    return this.defaultEnsured;
  }

  /** Loads (or, unless `force`, only checks) the rows; one load at a time, a forced one always after the running one. */
  private load(force: boolean): Promise<Snapshot> {
    if (this.loading) {
      if (!force) return this.loading;
      this.reloadQueued ??= this.loading
        .catch(() => undefined)
        .then(() => {
          this.reloadQueued = null;
          return this.load(true);
        });
      return this.reloadQueued;
    }
    const run = this.read(force).finally(() => {
      if (this.loading === run) this.loading = null;
    });
    this.loading = run;
    return run;
  }

  private async read(force: boolean): Promise<Snapshot> {
    const probe = await this.store.probe();
    const previous = this.snapshot;
    if (previous && !force && previous.probe === probe) {
      previous.checkedAt = Date.now();
      return previous;
    }
    const rows = await this.store.list();
    const next = this.index(probe, rows);
    this.snapshot = next;
    if (previous && changedBetween(previous.all, next.all)) this.notify();
    return next;
  }

  private index(probe: string, rows: MailboxRecord[]): Snapshot {
    const all = rows.map((r) => (r.isDefault ? this.withEnvironment(r) : r));
    const routes = new Map<string, MailboxRecord>();
    const own = new Set<string>();
    for (const mailbox of all) {
      for (const address of addressesOf(mailbox)) {
        own.add(address);
        if (mailbox.state !== 'disabled' && !routes.has(address)) routes.set(address, mailbox);
      }
    }
    return {
      probe,
      checkedAt: Date.now(),
      all,
      byId: new Map(all.map((m) => [m.id, m])),
      routes,
      own,
      defaultMailbox: all.find((m) => m.isDefault),
    };
  }

  /** The default mailbox's servers are IMAP_URL and SMTP_URL (shown without their passwords). */
  private withEnvironment(row: MailboxRecord): MailboxRecord {
    return {
      ...row,
      imapUrl: this.config.imap.url ? withoutPassword(this.config.imap.url) : null,
      smtpUrl: this.config.smtp.url ? withoutPassword(this.config.smtp.url) : null,
    };
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (e) {
        this.logger.warn(`a mailbox change listener failed: ${(e as Error).message}`);
      }
    }
  }
}

/** Whether two reads differ in any mailbox or any mailbox's version. */
function changedBetween(a: MailboxRecord[], b: MailboxRecord[]): boolean {
  if (a.length !== b.length) return true;
  return a.some((m, i) => m.id !== b[i].id || m.version !== b[i].version);
}
