import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** What a successful send tells the dispatcher. */
export interface TransportResult {
  /** The server's last answer (SMTP), or the file written (file transport). */
  response: string;
}

/**
 * The one wrapper around the outside mail system. With SMTP_URL: a pooled nodemailer SMTP
 * transport (smtp:// upgrades with STARTTLS when offered, smtps:// is TLS from the start; TLS
 * certificates are verified; credentials come from the URL; every timeout named in config).
 * Without: each mail is written as an .eml file under DATA_DIR/outbox, atomically (a .tmp file
 * renamed into place), so a reader never sees half a mail.
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private readonly logger = new Logger(MailTransport.name);
  /** Made with the first mail: nodemailer is loaded then, not at start. */
  private transporter?: Promise<Transporter>;
  /** Where .eml files go when there is no SMTP server. */
  readonly outboxDir: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.outboxDir = path.join(config.dataDir, 'outbox');
  }

  private transport(): Promise<Transporter> {
    return (this.transporter ??= import('nodemailer').then(({ default: nodemailer }) => {
      const smtp = this.config.smtp;
      return smtp.url
        ? nodemailer.createTransport({
            url: smtp.url,
            pool: true,
            connectionTimeout: smtp.connectionTimeoutMs,
            greetingTimeout: smtp.greetingTimeoutMs,
            socketTimeout: smtp.socketTimeoutMs,
          })
        : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    }));
  }

  /** 'smtp://host:port' (no credentials) or 'file:<dir>': for logs and health. */
  describe(): string {
    if (!this.config.smtp.url) return `file:${this.outboxDir}`;
    const u = new URL(this.config.smtp.url);
    return `${u.protocol}//${u.host}`;
  }

  /** Sends one mail; rejects with nodemailer's error (code, responseCode, response) on failure. */
  async send(mail: SendMailOptions, outboxId: string): Promise<TransportResult> {
    const transport = await this.transport();
    if (this.config.smtp.url) {
      const info = (await transport.sendMail(mail)) as { response?: string };
      return { response: info.response ?? '' };
    }
    const info = (await transport.sendMail(mail)) as { message: Buffer };
    const file = await this.writeEml(info.message, outboxId);
    return { response: `written to ${file}` };
  }

  /** Closes the SMTP connection pool. */
  async onApplicationShutdown(): Promise<void> {
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
