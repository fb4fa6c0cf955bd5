import { INestApplication } from '@nestjs/common';
import { MailboxesService } from '../../src/mailboxes/mailboxes.service';

/**
 * Mailboxes for the IMAP tests, written as an admin's `POST /mailboxes`, `DELETE` and `PATCH` do
 * (MailboxesService: the password taken out of the URL and sealed, the directory told at once).
 */

/** A new mailbox reading `imapUrl` (`imap://user:password@host:port/INBOX`); its id. */
export async function addMailbox(
  app: INestApplication,
  m: { name: string; address: string; imapUrl: string },
): Promise<number> {
  return (await app.get(MailboxesService).create(m)).id;
}

/** Deactivates a mailbox (`DELETE /mailboxes/:id`). */
export async function deactivateMailbox(app: INestApplication, id: number): Promise<void> {
  await app.get(MailboxesService).deactivate(id);
}

/** Activates a deactivated mailbox again (`PATCH /mailboxes/:id { state: 'active' }`). */
export async function activateMailbox(app: INestApplication, id: number): Promise<void> {
  await app.get(MailboxesService).update(id, { state: 'active' });
}
