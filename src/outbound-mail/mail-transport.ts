import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import {
  type MailboxCredentials,
  type MailboxDirectory,
  type MailboxRecord,
  MailboxUnavailableError,
  type MailLogin,
} from '../mailboxes/mailbox';
import { MailboxCredentialsService } from '../mailboxes/mailbox-credentials.service';
import { MailboxDirectoryService } from '../mailboxes/mailbox-directory.service';

/** What a successful send tells the dispatcher. */
export interface TransportResult {
  /** The server's last answer (SMTP), or the file written (file transport). */
  response: string;
}

/** A mailbox's own SMTP transport, pooled, and what it was made from (rebuilt when that changes). */
interface MailboxTransport {
  transporter: Transporter;
  /** The mailbox's version, its URL and a hash of its login (a refreshed OAuth2 token makes a new pool). */
  fingerprint: string;
}

/** An SMTP server refused the login of a mailbox (535, EAUTH): its credentials are told, the mail retried. */
export class MailboxLoginRefusedError extends Error {
  constructor(
    readonly mailbox: MailboxRecord,
    readonly cause: Error,
  ) {
    super(cause.message);
    this.name = 'MailboxLoginRefusedError';
  }
}

/**
 * The one wrapper around the outside mail system. Each mail goes through the SMTP server of the
 * mailbox it is sent for (issue 18):
 *
 * - a mailbox (but the default one) with its own `smtpUrl`: a pooled nodemailer SMTP transport of
 *   its own, its login from MailboxCredentials (a password, or an OAuth2 access token: XOAUTH2),
 *   cached per mailbox and rebuilt when the mailbox changes (its version) or its login does (a new
 *   token); a mailbox waiting for re-authorization, or disabled, throws MailboxUnavailableError
 *   (the mail waits until it can send again);
 * - the default mailbox and any mailbox without a server of its own: SMTP_URL, a pooled transport
 *   (smtp:// upgrades with STARTTLS when offered, smtps:// is TLS from the start; credentials from
 *   the URL);
 * - without SMTP_URL: each mail is written as an .eml file under DATA_DIR/outbox, atomically (a
 *   .tmp file renamed into place), so a reader never sees half a mail.
 *
 * TLS certificates are verified; every timeout is named in config.
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private readonly logger = new Logger(MailTransport.name);
  /** Made with the first mail: nodemailer is loaded then, not at start. */
  private transporter?: Promise<Transporter>;
  /** The mailboxes' own transports, by mailbox id. */
  private readonly mailboxTransports = new Map<number, MailboxTransport>();
  private readonly unsubscribe?: () => void;
  /** Where .eml files go when there is no SMTP server. */
  readonly outboxDir: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional()
    @Inject(MailboxDirectoryService)
    private readonly directory?: Pick<MailboxDirectory, 'get' | 'onChange'>,
    @Optional()
    @Inject(MailboxCredentialsService)
    private readonly credentials?: Pick<MailboxCredentials, 'login' | 'loginRefused'>,
  ) {
    this.outboxDir = path.join(config.dataDir, 'outbox');
    this.unsubscribe = directory?.onChange(() => void this.pruneChanged());
  }

  private transport(): Promise<Transporter> {
    return (this.transporter ??= import('nodemailer').then(({ default: nodemailer }) => {
      const smtp = this.config.smtp;
      return smtp.url
        ? nodemailer.createTransport({ url: smtp.url, pool: true, ...this.timeouts() })
        : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    }));
  }

  private timeouts() {
    const smtp = this.config.smtp;
    return {
      connectionTimeout: smtp.connectionTimeoutMs,
      greetingTimeout: smtp.greetingTimeoutMs,
      socketTimeout: smtp.socketTimeoutMs,
    };
  }

  /** 'smtp://host:port' (no credentials) or 'file:<dir>': for logs and health. */
  describe(): string {
    if (!this.config.smtp.url) return `file:${this.outboxDir}`;
    const u = new URL(this.config.smtp.url);
    return `${u.protocol}//${u.host}`;
  }

  /**
   * Sends one mail for the mailbox `mailboxId` (null: the default mailbox); rejects with nodemailer's
   * error (code, responseCode, response) on failure, MailboxUnavailableError when the mailbox waits
   * for an admin, MailboxLoginRefusedError when its server refused its login.
   */
  async send(mail: SendMailOptions, outboxId: string, mailboxId: number | null = null): Promise<TransportResult> {
    const mailbox = await this.mailboxOf(mailboxId);
    if (mailbox && ownServer(mailbox) && this.credentials) return this.sendThrough(mailbox, mail);
    const transport = await this.transport();
    if (this.config.smtp.url) {
      const info = (await transport.sendMail(mail)) as { response?: string };
      return { response: info.response ?? '' };
    }
    const info = (await transport.sendMail(mail)) as { message: Buffer };
    const file = await this.writeEml(info.message, outboxId);
    return { response: `written to ${file}` };
  }

  /** The mailbox a mail is sent for (null: no directory, or one that is gone: SMTP_URL serves). */
  private async mailboxOf(mailboxId: number | null): Promise<MailboxRecord | null> {
    return mailboxId === null || !this.directory ? null : this.directory.get(mailboxId);
  }

  /** Sends through the mailbox's own server, with its login; a refused login drops the pool. */
  private async sendThrough(mailbox: MailboxRecord, mail: SendMailOptions): Promise<TransportResult> {
    if (mailbox.state === 'needs_reauthorization' || mailbox.state === 'disabled')
      throw new MailboxUnavailableError(mailbox.id, mailbox.state);
    const login = await this.credentials!.login(mailbox, 'smtp');
    const transporter = await this.mailboxTransport(mailbox, login);
    try {
      const info = (await transporter.sendMail(mail)) as { response?: string };
      return { response: info.response ?? '' };
    } catch (e) {
      if (!isLoginRefused(e)) throw e;
      this.drop(mailbox.id);
      throw new MailboxLoginRefusedError(mailbox, e as Error);
    }
  }

  /** Tells the mailbox's credentials that its server refused the login (an OAuth2 token is refreshed). */
  async loginRefused(error: MailboxLoginRefusedError): Promise<void> {
    await this.credentials?.loginRefused(error.mailbox, 'smtp', error.cause);
  }

  /** The mailbox's pooled transport, made (or made again) for its current settings and login. */
  private async mailboxTransport(mailbox: MailboxRecord, login: MailLogin | null): Promise<Transporter> {
    const url = serverUrl(mailbox);
    const fingerprint = `${mailbox.version}|${url}|${loginHash(login)}`;
    const cached = this.mailboxTransports.get(mailbox.id);
    if (cached?.fingerprint === fingerprint) return cached.transporter;
    const { default: nodemailer } = await import('nodemailer');
    const transporter = nodemailer.createTransport({
      url: withoutUserInfo(url),
      pool: true,
      ...this.timeouts(),
      ...(login ? { auth: nodemailerAuth(login) } : {}),
    });
    this.drop(mailbox.id);
    this.mailboxTransports.set(mailbox.id, { transporter, fingerprint });
    return transporter;
  }

  /** Closes a mailbox's pool (its connections finish the mail they carry). */
  private drop(mailboxId: number): void {
    this.mailboxTransports.get(mailboxId)?.transporter.close();
    this.mailboxTransports.delete(mailboxId);
  }

  /** After a change of the mailboxes: the pools of mailboxes changed or gone are closed. */
  private async pruneChanged(): Promise<void> {
    for (const [id, cached] of this.mailboxTransports) {
      const mailbox = await this.directory?.get(id).catch(() => null);
      if (!mailbox || !cached.fingerprint.startsWith(`${mailbox.version}|`)) this.drop(id);
    }
  }

  /** Closes the SMTP connection pools. */
  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    for (const id of [...this.mailboxTransports.keys()]) this.drop(id);
    if (this.config.smtp.url && this.transporter) (await this.transporter).close();
  }

  private async writeEml(message: Buffer, outboxId: string): Promise<string> {
    await fs.mkdir(this.outboxDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `${stamp}-${outboxId.replace(/[^0-9A-Za-z_-]/g, '')}.eml`;
    const final = path.join(this.outboxDir, name);
    const tmp = path.join(this.outboxDir, `.${name}.${process.pid}.tmp`);
    try {
      const handle = await fs.open(tmp, 'wx');
      try {
        await handle.writeFile(message);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, final);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      this.logger.warn(`could not write ${final}: ${(e as Error).message}`);
      throw e;
    }
    return final;
  }
}

/**
 * Whether a mailbox sends through a server of its own: a mailbox but the default one, with its own
 * SMTP URL. The default mailbox and the others use SMTP_URL as it is (its credentials in the URL),
 * or the file transport.
 */
function ownServer(mailbox: MailboxRecord): boolean {
  return !mailbox.isDefault && mailbox.smtpUrl !== null;
}

/** The SMTP URL of a mailbox with a server of its own. */
function serverUrl(mailbox: MailboxRecord): string {
  if (!mailbox.smtpUrl) throw new Error(`mailbox ${mailbox.id} has no SMTP server`);
  return mailbox.smtpUrl;
}

/** The URL without a user or password: the login is given apart (nodemailer would prefer the URL's). */
function withoutUserInfo(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

/** nodemailer's `auth` for a login: a password, or an OAuth2 access token (XOAUTH2). */
function nodemailerAuth(login: MailLogin) {
  return 'accessToken' in login
    ? { type: 'OAuth2' as const, user: login.user, accessToken: login.accessToken }
    : { user: login.user, pass: login.pass };
}

/** A short hash of a login, so a pool is rebuilt when it changes; the secret itself is never kept. */
function loginHash(login: MailLogin | null): string {
  if (!login) return 'none';
  const secret = 'accessToken' in login ? `t:${login.accessToken}` : `p:${login.pass}`;
  return crypto.createHash('sha256').update(`${login.user}\0${secret}`).digest('hex').slice(0, 16);
}

/** An SMTP answer that refuses the login (535 and its kin, nodemailer's EAUTH). */
function isLoginRefused(e: unknown): boolean {
  const err = (e ?? {}) as { code?: string; responseCode?: number };
  return err.code === 'EAUTH' || err.responseCode === 535 || err.responseCode === 534;
}
