import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { passwordOf, userOf } from './mail-url';
import {
  MailboxUnavailableError,
  type MailboxCredentials,
  type MailboxRecord,
  type MailLogin,
  type MailService,
} from './mailbox';
import { SecretBoxService } from './secret-box.service';

/** Injection token of the OAuth2 access tokens (the OAuth2 token service of this module provides it). */
export const OAUTH2_TOKEN_SOURCE = 'OAUTH2_TOKEN_SOURCE';

/** Where an OAuth2 mailbox's access tokens come from: fresh ones, shared by its IMAP and SMTP. */
export interface Oauth2TokenSource {
  /** A valid access token (refreshed ahead of expiry); throws MailboxUnavailableError when re-authorization is needed. */
  accessToken(mailbox: MailboxRecord): Promise<string>;
  /** The server refused the token: drop it (and refresh once; `needs_reauthorization` when that fails for good). */
  invalidate(mailbox: MailboxRecord, reason: Error): Promise<void>;
}

/** The states in which no login is handed out. */
const UNAVAILABLE = new Set(['needs_reauthorization', 'disabled']);

/**
 * The logins of a mailbox's IMAP and SMTP servers: the password opened from its sealed column (the
 * default mailbox's from IMAP_URL / SMTP_URL), or an OAuth2 access token from the token source,
 * with the user of the server's URL. Secrets are opened only here, only when asked, and never kept.
 */
@Injectable()
export class MailboxCredentialsService implements MailboxCredentials {
  constructor(
    private readonly box: SecretBoxService,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'imap' | 'smtp'>,
    @Optional() @Inject(OAUTH2_TOKEN_SOURCE) private readonly tokens?: Oauth2TokenSource,
  ) {}

  async login(mailbox: MailboxRecord, service: MailService): Promise<MailLogin | null> {
    if (UNAVAILABLE.has(mailbox.state)) throw new MailboxUnavailableError(mailbox.id, mailbox.state);
    if (mailbox.isDefault) return this.environmentLogin(service);
    const url = service === 'imap' ? mailbox.imapUrl : mailbox.smtpUrl;
    if (!url) return null;
    const user = userOf(url);
    if (mailbox.oauth2) {
      if (!this.tokens) {
        throw new MailboxUnavailableError(mailbox.id, mailbox.state, 'OAuth2 is not available in this process');
      }
      return { user, accessToken: await this.tokens.accessToken(mailbox) };
    }
    const sealed = service === 'imap' ? mailbox.imapSecret : mailbox.smtpSecret;
    if (!user || sealed === null) return null;
    return { user, pass: this.box.open(sealed) };
  }

  async loginRefused(mailbox: MailboxRecord, _service: MailService, error: Error): Promise<void> {
    if (mailbox.oauth2 && !mailbox.isDefault && this.tokens) await this.tokens.invalidate(mailbox, error);
  }

  /** The default mailbox logs in with the user and password of IMAP_URL / SMTP_URL. */
  private environmentLogin(service: MailService): MailLogin | null {
    const url = service === 'imap' ? this.config.imap.url : this.config.smtp.url;
    if (!url) return null;
    const user = userOf(url);
    const pass = passwordOf(url);
    return user && pass !== null ? { user, pass } : null;
  }
}
