import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { MailboxCredentials, MailboxRecord, MailLogin, MailService } from '../../mailboxes/mailbox';
import { parseImapUrl } from './imap-url';

/**
 * STOPGAP until MailboxCredentialsService (h18-core) lands: the default mailbox's IMAP login from
 * IMAP_URL; any other mailbox has none.
 */
@Injectable()
export class EnvironmentCredentials implements MailboxCredentials {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async login(mailbox: MailboxRecord, service: MailService): Promise<MailLogin | null> {
    if (service !== 'imap' || !mailbox.isDefault || !this.config.imap.url) throw new Error('no credentials service');
    const t = parseImapUrl(this.config.imap.url);
    return { user: t.user, pass: t.password };
  }

  async loginRefused(): Promise<void> {}
}
