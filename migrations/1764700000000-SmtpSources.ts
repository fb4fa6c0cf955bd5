import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * inbound_mail.source gains `smtp` and `lmtp` (issue 19: the SMTP and LMTP listeners) and `ses`
 * (Amazon SES through SNS, POST /inbound/ses). The check
 * is replaced NOT VALID (no scan under the exclusive lock: the new list holds every old value),
 * then validated under a lock that lets reads and writes go on.
 */
export class SmtpSources1764700000000 implements MigrationInterface {
  name = 'SmtpSources1764700000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE inbound_mail DROP CONSTRAINT inbound_mail_source_check,
         ADD CONSTRAINT inbound_mail_source_check
         CHECK (source IN ('imap', 'webhook', 'cli', 'smtp', 'lmtp', 'ses')) NOT VALID`,
    );
    await q.query(`ALTER TABLE inbound_mail VALIDATE CONSTRAINT inbound_mail_source_check`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE inbound_mail DROP CONSTRAINT inbound_mail_source_check,
         ADD CONSTRAINT inbound_mail_source_check CHECK (source IN ('imap', 'webhook', 'cli')) NOT VALID`,
    );
  }
}
