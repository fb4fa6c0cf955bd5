import { Module } from '@nestjs/common';
import { KeyRotationService } from './key-rotation.service';
import { MailboxCredentialsService } from './mailbox-credentials.service';
import { MailboxDirectoryService } from './mailbox-directory.service';
import { MailboxesController } from './mailboxes.controller';
import { MailboxesRepository } from './mailboxes.repository';
import { MailboxesService } from './mailboxes.service';
import { SecretBoxService } from './secret-box.service';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { OAUTH2_TOKEN_SOURCE } from './mailbox-credentials.service';
import { Oauth2Controller } from './oauth2/oauth2.controller';
import { Oauth2Repository } from './oauth2/oauth2.repository';
import { Oauth2AuthorizationService } from './oauth2/oauth2-authorization.service';
import { Oauth2TokenService } from './oauth2/oauth2-token.service';

/**
 * Mailboxes (issue 18): the support addresses, their servers and sealed secrets. Other modules
 * use MailboxDirectoryService (which mailboxes there are) and MailboxCredentialsService (how to
 * log in to their servers); the repository and the secret box are exported for the OAuth2 code of
 * this module. The lists below are meant to grow (the OAuth2 token service and controller join them).
 */
@Module({
  imports: [WebhooksModule],
  controllers: [MailboxesController, Oauth2Controller],
  providers: [
    Oauth2Repository,
    Oauth2TokenService,
    { provide: OAUTH2_TOKEN_SOURCE, useExisting: Oauth2TokenService },
    Oauth2AuthorizationService,
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
    Oauth2TokenService,
  ],
})
export class MailboxesModule {}
