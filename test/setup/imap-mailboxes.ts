import type { DataSource } from 'typeorm';
import { INestApplication } from '@nestjs/common';
import type { MailboxState } from '../../src/mailboxes/mailbox';
import { MailboxDirectoryService } from '../../src/mailboxes/mailbox-directory.service';
import { MailboxesRepository } from '../../src/mailboxes/mailboxes.repository';

/** TEMPORARY (until the mailboxes service lands): a mailbox row with its IMAP password in clear. */
export async function addMailbox(
  app: INestApplication,
  m: { name: string; address: string; imapUrl: string },
): Promise<number> {
  const url = new URL(m.imapUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const result = await app.get(MailboxesRepository).insert({
    name: m.name,
    address: m.address,
    aliases: [],
    groupId: null,
    signature: null,
    imapUrl: url.toString(),
    imapSecret: password,
    smtpUrl: null,
    smtpSecret: null,
    oauth2: null,
    oauth2ClientSecret: null,
  });
  if (!result.ok) throw new Error(`mailbox not created: ${result.reason}`);
  await app.get(MailboxDirectoryService).changed();
  return result.mailbox.id;
}

/** Moves a mailbox to a state (deactivate: `disabled`; back: `active`). */
export async function setMailboxState(app: INestApplication, id: number, state: MailboxState): Promise<void> {
  await app.get(MailboxesRepository).setState(id, state);
  await app.get(MailboxDirectoryService).changed();
}

/** TEMPORARY (until the mailboxes API lands): a mailbox row written straight to the database, before the apps start. */
export async function insertImapMailbox(
  dataSource: DataSource,
  m: { name: string; address: string; imapUrl: string },
): Promise<number> {
  const url = new URL(m.imapUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const [{ id }] = await dataSource.query(
    `INSERT INTO mailboxes (name, address, imap_url, imap_secret) VALUES ($1, $2, $3, $4) RETURNING id`,
    [m.name, m.address, url.toString(), password],
  );
  await dataSource.query(`INSERT INTO mailbox_addresses (address, mailbox_id) VALUES ($1, $2)`, [m.address, id]);
  return id as number;
}
