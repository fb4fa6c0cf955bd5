import { Module } from '@nestjs/common';
import { KeyRotationService } from './key-rotation.service';
import { MailboxCredentialsService } from './mailbox-credentials.service';
import { MailboxDirectoryService } from './mailbox-directory.service';
import { MailboxesController } from './mailboxes.controller';
import { MailboxesRepository } from './mailboxes.repository';
import { MailboxesService } from './mailboxes.service';
import { SecretBoxService } from './secret-box.service';

/**
 * Mailboxes (issue 18): the support addresses, their servers and sealed secrets. Other modules
 * use MailboxDirectoryService (which mailboxes there are) and MailboxCredentialsService (how to
 * log in to their servers); the repository and the secret box are exported for the OAuth2 code of
 * this module. The lists below are meant to grow (the OAuth2 token service and controller join them).
 */
@Module({
  controllers: [MailboxesController],
  providers: [
    MailboxesRepository,
    SecretBoxService,
    MailboxDirectoryService,
    MailboxCredentialsService,
    MailboxesService,
    KeyRotationService,
  ],
  exports: [
    MailboxesRepository,
    SecretBoxService,
    MailboxDirectoryService,
    MailboxCredentialsService,
    MailboxesService,
    KeyRotationService,
  ],
})
export class MailboxesModule {}
