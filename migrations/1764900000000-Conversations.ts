import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Conversations as a support team needs them (issue 20 items 1-5).
 *
 * - `request_participants`: the other people of a request (the To and Cc of the customer's mail
 *   that are not our own addresses; never Bcc), added by mail, by an operator or by a merge. They
 *   get the operators' mail in Cc by default, and their mail threads into the request.
 * - `requests.merged_into_id`: a request merged into another (closed, its messages moved);
 *   `requests.split_from_id`: a request split off another. A split request is outside the
 *   one-open-request-per-customer-and-mailbox rule (it is reached by threading only), so the index
 *   gains `split_from_id IS NULL`.
 * - `side_threads`: a forward to a third party, with its own subject token; the third party's
 *   answers are messages of kind `side` on the request (never mailed to the customer).
 * - `messages`: `bcc_addresses` (an operator's Bcc, shown to operators only), `visible_text` (the
 *   new text without quoted history and signature), `safe_html` (the HTML after the allow-list,
 *   what clients get), `side_thread_id`; kind `side`. `(request_id, seq)` becomes deferrable so a
 *   merge or a split can renumber a conversation in one statement.
 * - `outbox`: `cc_addresses`, `bcc_addresses` (every one is an envelope recipient; Bcc never in a
 *   header) and `attachment_ids` (the files a forward carries, of other messages).
 */
export class Conversations1764900000000 implements MigrationInterface {
  name = 'Conversations1764900000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE request_participants (
        request_id  integer NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        email       text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
        name        text NULL CHECK (length(name) <= 200),
        source      text NOT NULL CHECK (source IN ('mail', 'operator', 'merge')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (request_id, email)
      )`);
    await q.query(`CREATE INDEX request_participants_email ON request_participants (email)`);

    await q.query(`ALTER TABLE requests ADD COLUMN merged_into_id integer NULL REFERENCES requests (id)`);
    await q.query(`ALTER TABLE requests ADD COLUMN split_from_id integer NULL REFERENCES requests (id)`);
    await q.query(`CREATE INDEX requests_merged_into ON requests (merged_into_id) WHERE merged_into_id IS NOT NULL`);
    await q.query(`DROP INDEX requests_one_open_per_customer_mailbox`);
    await q.query(
      `CREATE UNIQUE INDEX requests_one_open_per_customer_mailbox ON requests (customer_id, (COALESCE(mailbox_id, 0)))
         WHERE status <> 'closed' AND split_from_id IS NULL`,
    );

    await q.query(`
      CREATE TABLE side_threads (
        id          serial PRIMARY KEY,
        request_id  integer NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        token       text NOT NULL UNIQUE CHECK (length(token) BETWEEN 8 AND 64),
        addresses   text[] NOT NULL,
        subject     text NOT NULL,
        operator_id integer NULL REFERENCES operators (id) ON DELETE SET NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX side_threads_request ON side_threads (request_id)`);

    await q.query(`ALTER TABLE messages ADD COLUMN bcc_addresses text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE messages ADD COLUMN visible_text text NULL`);
    await q.query(`ALTER TABLE messages ADD COLUMN safe_html text NULL`);
    await q.query(
      `ALTER TABLE messages ADD COLUMN side_thread_id integer NULL REFERENCES side_threads (id) ON DELETE SET NULL`,
    );
    await q.query(`ALTER TABLE messages DROP CONSTRAINT messages_kind_check`);
    await q.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_kind_check
         CHECK (kind IN ('customer', 'operator', 'auto_reply', 'system', 'note', 'side'))`,
    );
    await q.query(`ALTER TABLE messages DROP CONSTRAINT messages_request_seq_key`);
    await q.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_request_seq_key UNIQUE (request_id, seq) DEFERRABLE INITIALLY IMMEDIATE`,
    );

    await q.query(`ALTER TABLE outbox ADD COLUMN cc_addresses text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE outbox ADD COLUMN bcc_addresses text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE outbox ADD COLUMN attachment_ids integer[] NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox DROP COLUMN attachment_ids, DROP COLUMN bcc_addresses, DROP COLUMN cc_addresses`);
    await q.query(`ALTER TABLE messages DROP CONSTRAINT messages_request_seq_key`);
    await q.query(`ALTER TABLE messages ADD CONSTRAINT messages_request_seq_key UNIQUE (request_id, seq)`);
    await q.query(`DELETE FROM messages WHERE kind = 'side'`);
    await q.query(`ALTER TABLE messages DROP CONSTRAINT messages_kind_check`);
    await q.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_kind_check
         CHECK (kind IN ('customer', 'operator', 'auto_reply', 'system', 'note'))`,
    );
    await q.query(
      `ALTER TABLE messages DROP COLUMN side_thread_id, DROP COLUMN safe_html, DROP COLUMN visible_text, DROP COLUMN bcc_addresses`,
    );
    await q.query(`DROP TABLE side_threads`);
    await q.query(`DROP INDEX requests_one_open_per_customer_mailbox`);
    await q.query(
      `CREATE UNIQUE INDEX requests_one_open_per_customer_mailbox ON requests (customer_id, (COALESCE(mailbox_id, 0))) WHERE status <> 'closed'`,
    );
    await q.query(`DROP INDEX requests_merged_into`);
    await q.query(`ALTER TABLE requests DROP COLUMN split_from_id, DROP COLUMN merged_into_id`);
    await q.query(`DROP TABLE request_participants`);
  }
}
