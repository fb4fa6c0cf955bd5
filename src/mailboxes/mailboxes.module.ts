import { Module } from '@nestjs/common';
import { MailboxDirectoryService } from './mailbox-directory.service';
import { MailboxesRepository } from './mailboxes.repository';

/**
 * Mailboxes (issue 18): the support addresses, their servers and sealed secrets. Other modules
 * use MailboxDirectoryService (which mailboxes there are) and MailboxCredentialsService (how to
 * log in to their servers); the repository is exported for the OAuth2 code of this module only.
 * The lists below are meant to grow (the OAuth2 token service and controller join them).
 */
@Module({
  controllers: [],
  providers: [MailboxesRepository, MailboxDirectoryService],
  exports: [MailboxesRepository, MailboxDirectoryService],
})
export class MailboxesModule {}
