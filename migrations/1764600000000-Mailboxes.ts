import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several support addresses (issue 18): mailboxes, the groups (queues) operators work in, and
 * which mailbox and group each request belongs to.
 *
 * - `groups`: names unique regardless of case. `operator_groups`: an operator's groups (an operator
 *   in no group sees every request, as before).
 * - `mailboxes`: one support address each. Its IMAP and SMTP URLs are stored without their
 *   password; passwords, the OAuth2 client secret and tokens are `*_secret` columns holding
 *   AES-256-GCM ciphertext (mailboxes/secret-box.ts), never plain text. `is_default`: the mailbox
 *   the environment defines (SUPPORT_ADDRESS, IMAP_URL, SMTP_URL); at most one. `version` grows
 *   with every change of its settings or of its state to or from `needs_reauthorization` and
 *   `disabled` (not with the poller's `last_*` and `backlog` reports), so instances notice a
 *   change by reading one number.
 * - `mailbox_addresses`: every address and alias of every mailbox, lowercased, unique across all
 *   mailboxes (the 409 on a taken address is this primary key).
 * - `requests.mailbox_id` / `requests.group_id`, `outbox.mailbox_id`: NULL is the default mailbox
 *   and no group, so no existing row is rewritten (nullable columns without a default).
 * - At most one open request per customer AND mailbox (was: per customer), so a customer writing
 *   to billing@ while a support@ request is open gets a billing request. NULL and 0 never name a
 *   mailbox, so `COALESCE(mailbox_id, 0)` makes the default mailbox one key; requests of the
 *   default mailbox are stored with mailbox_id NULL (RequestsRepository.insertOpen), never its id.
 * - `oauth2_authorizations`: the pending authorization-code flows (state -> admin, mailbox, PKCE
 *   verifier), one use each, expiring after minutes.
 */
export class Mailboxes1764600000000 implements MigrationInterface {
  name = 'Mailboxes1764600000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE groups (
        id         serial PRIMARY KEY,
        name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX groups_name_key ON groups (lower(name))`);
    await q.query(`
      CREATE TABLE operator_groups (
        operator_id integer NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
        group_id    integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        PRIMARY KEY (operator_id, group_id)
      )`);
    await q.query(`CREATE INDEX operator_groups_group_idx ON operator_groups (group_id)`);
    await q.query(`
      CREATE TABLE mailboxes (
        id                       serial PRIMARY KEY,
        name                     text NOT NULL,
        address                  text NOT NULL,
        aliases                  text[] NOT NULL DEFAULT '{}',
        group_id                 integer REFERENCES groups (id) ON DELETE SET NULL,
        signature                text,
        is_default               boolean NOT NULL DEFAULT false,
        imap_url                 text,
        imap_secret              text,
        smtp_url                 text,
        smtp_secret              text,
        oauth2                   jsonb,
        oauth2_client_secret     text,
        oauth2_refresh_secret    text,
        oauth2_access_secret     text,
        oauth2_access_expires_at timestamptz,
        state                    text NOT NULL DEFAULT 'active'
          CONSTRAINT mailboxes_state_check
          CHECK (state IN ('active', 'needs_reauthorization', 'error', 'disabled')),
        last_error               text,
        last_error_at            timestamptz,
        last_success_at          timestamptz,
        backlog                  integer,
        version                  bigint NOT NULL DEFAULT 1,
        created_at               timestamptz NOT NULL DEFAULT now(),
        updated_at               timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX mailboxes_default_key ON mailboxes (is_default) WHERE is_default`);
    await q.query(`
      CREATE TABLE mailbox_addresses (
        address    text PRIMARY KEY,
        mailbox_id integer NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX mailbox_addresses_mailbox_idx ON mailbox_addresses (mailbox_id)`);
    await q.query(`
      CREATE TABLE oauth2_authorizations (
        state_hash    text PRIMARY KEY,
        mailbox_id    integer NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
        operator_id   integer NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
        verifier_secret text NOT NULL,
        redirect_uri  text NOT NULL,
        expires_at    timestamptz NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE requests ADD COLUMN mailbox_id integer REFERENCES mailboxes (id)`);
    await q.query(`ALTER TABLE requests ADD COLUMN group_id integer REFERENCES groups (id) ON DELETE SET NULL`);
    await q.query(`CREATE INDEX requests_group_idx ON requests (group_id, id DESC) WHERE group_id IS NOT NULL`);
    await q.query(`CREATE INDEX requests_mailbox_idx ON requests (mailbox_id, id DESC) WHERE mailbox_id IS NOT NULL`);
    await q.query(
      `CREATE UNIQUE INDEX requests_one_open_per_customer_mailbox ON requests (customer_id, (COALESCE(mailbox_id, 0))) WHERE status <> 'closed'`,
    );
    await q.query(`DROP INDEX requests_one_open_per_customer`);
    await q.query(`ALTER TABLE outbox ADD COLUMN mailbox_id integer REFERENCES mailboxes (id)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox DROP COLUMN mailbox_id`);
    await q.query(
      `CREATE UNIQUE INDEX requests_one_open_per_customer ON requests (customer_id) WHERE status <> 'closed'`,
    );
    await q.query(`DROP INDEX requests_one_open_per_customer_mailbox`);
    await q.query(`ALTER TABLE requests DROP COLUMN group_id`);
    await q.query(`ALTER TABLE requests DROP COLUMN mailbox_id`);
    for (const table of ['oauth2_authorizations', 'mailbox_addresses', 'mailboxes', 'operator_groups', 'groups']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
