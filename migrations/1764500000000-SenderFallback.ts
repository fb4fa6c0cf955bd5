import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * messages.sender_source: where an inbound mail's sender address was found. `from` for the From
 * header; a fallback (`sender`, `reply-to`, `return-path`, `envelope`) for mail whose From had no
 * usable address, which was quarantined before. NULL for mail the desk wrote and for rows stored
 * before this migration (a nullable column without a default: no table rewrite).
 */
export class SenderFallback1764500000000 implements MigrationInterface {
  name = 'SenderFallback1764500000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE messages ADD COLUMN sender_source text
         CONSTRAINT messages_sender_source_check
         CHECK (sender_source IN ('from', 'sender', 'reply-to', 'return-path', 'envelope'))`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE messages DROP COLUMN sender_source`);
  }
}
