import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Help-desk tools: the sender blocklist (addresses and domains) and outgoing webhooks with their
 * delivery queue (claimed like the outbox).
 */
export class HelpDeskTools1764200000000 implements MigrationInterface {
  name = 'HelpDeskTools1764200000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE blocklist (
        id          serial PRIMARY KEY,
        pattern     text NOT NULL,
        reason      text,
        created_by  integer REFERENCES operators (id) ON DELETE SET NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT blocklist_pattern_key UNIQUE (pattern),
        CONSTRAINT blocklist_pattern_lower CHECK (pattern = lower(pattern))
      )`);

    await q.query(`
      CREATE TABLE webhooks (
        id          serial PRIMARY KEY,
        url         text NOT NULL,
        events      text[] NOT NULL,
        secret      text NOT NULL,
        description text,
        created_by  integer REFERENCES operators (id) ON DELETE SET NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id               bigserial PRIMARY KEY,
        webhook_id       integer NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event            text NOT NULL,
        payload          jsonb NOT NULL,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        locked_until     timestamptz,
        last_status_code integer,
        last_error       text,
        delivered_at     timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending'`,
    );
    await q.query(`CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await q.query(`DROP TABLE IF EXISTS webhooks`);
    await q.query(`DROP TABLE IF EXISTS blocklist`);
  }
}
