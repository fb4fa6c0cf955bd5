import { MigrationInterface, QueryRunner } from 'typeorm';

/** The whole data model of DESIGN.md section 4, in plain SQL that runs on PostgreSQL 15 and PGlite (18). */
export class InitialSchema1764057600000 implements MigrationInterface {
  name = 'InitialSchema1764057600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE operators (
        id            serial PRIMARY KEY,
        name          text NOT NULL,
        email         text NOT NULL,
        role          text NOT NULL DEFAULT 'operator' CHECK (role IN ('admin', 'operator')),
        password_hash text NOT NULL,
        active        boolean NOT NULL DEFAULT true,
        token_version integer NOT NULL DEFAULT 0,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT operators_email_key UNIQUE (email),
        CONSTRAINT operators_email_lower CHECK (email = lower(email))
      )`);
    await q.query(`
      CREATE TABLE customers (
        id         serial PRIMARY KEY,
        email      text NOT NULL,
        name       text,
        blocked    boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT customers_email_key UNIQUE (email),
        CONSTRAINT customers_email_lower CHECK (email = lower(email))
      )`);
    await q.query(`
      CREATE TABLE requests (
        id                  serial PRIMARY KEY,
        customer_id         integer NOT NULL REFERENCES customers (id),
        subject             text NOT NULL DEFAULT '',
        status              text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'closed')),
        operator_id         integer REFERENCES operators (id),
        previous_request_id integer REFERENCES requests (id),
        last_seq            integer NOT NULL DEFAULT 0,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        first_response_at   timestamptz,
        closed_at           timestamptz,
        last_message_at     timestamptz
      )`);
    // The invariant: at most one open request per customer.
    await q.query(
      `CREATE UNIQUE INDEX requests_one_open_per_customer ON requests (customer_id) WHERE status <> 'closed'`,
    );
    // Indexes serving the filters and sorts of GET /requests.
    await q.query(`CREATE INDEX requests_status_created ON requests (status, created_at, id)`);
    await q.query(`CREATE INDEX requests_created ON requests (created_at, id)`);
    await q.query(`CREATE INDEX requests_updated ON requests (updated_at, id)`);
    await q.query(`CREATE INDEX requests_last_message ON requests (last_message_at, id)`);
    await q.query(`CREATE INDEX requests_operator_status ON requests (operator_id, status, created_at)`);
    await q.query(`CREATE INDEX requests_customer_created ON requests (customer_id, created_at)`);
    await q.query(`CREATE INDEX requests_subject_fts ON requests USING gin (to_tsvector('simple', subject))`);

    await q.query(`
      CREATE TABLE messages (
        id           serial PRIMARY KEY,
        request_id   integer NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        seq          integer NOT NULL,
        direction    text NOT NULL CHECK (direction IN ('in', 'out')),
        kind         text NOT NULL CHECK (kind IN ('customer', 'operator', 'auto_reply', 'system', 'note')),
        operator_id  integer REFERENCES operators (id),
        from_address text NOT NULL DEFAULT '',
        from_name    text,
        to_addresses text[] NOT NULL DEFAULT '{}',
        cc_addresses text[] NOT NULL DEFAULT '{}',
        subject      text NOT NULL DEFAULT '',
        text         text NOT NULL DEFAULT '',
        html         text,
        message_id   text NOT NULL,
        in_reply_to  text,
        "references" text[] NOT NULL DEFAULT '{}',
        created_at   timestamptz NOT NULL DEFAULT now(),
        sent_at      timestamptz,
        CONSTRAINT messages_message_id_key UNIQUE (message_id),
        CONSTRAINT messages_request_seq_key UNIQUE (request_id, seq)
      )`);
    await q.query(`CREATE INDEX messages_from ON messages (from_address)`);
    await q.query(
      `CREATE INDEX messages_fts ON messages USING gin (to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(text, '')))`,
    );

    await q.query(`
      CREATE TABLE attachments (
        id           serial PRIMARY KEY,
        message_id   integer NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        filename     text NOT NULL,
        content_type text NOT NULL,
        size         integer NOT NULL,
        sha256       text NOT NULL,
        content_id   text,
        content      bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX attachments_message ON attachments (message_id)`);

    await q.query(`
      CREATE TABLE request_events (
        id          bigserial PRIMARY KEY,
        request_id  integer NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        type        text NOT NULL,
        actor       text NOT NULL CHECK (actor IN ('customer', 'operator', 'system')),
        operator_id integer REFERENCES operators (id),
        data        jsonb NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX request_events_request ON request_events (request_id, id)`);

    await q.query(`
      CREATE TABLE inbound_mail (
        id             bigserial PRIMARY KEY,
        source         text NOT NULL CHECK (source IN ('imap', 'webhook', 'cli')),
        dedupe_key     text NOT NULL,
        message_id     text,
        from_address   text,
        subject        text,
        size           integer NOT NULL,
        raw            bytea NOT NULL,
        status         text NOT NULL CHECK (status IN ('created', 'appended', 'ignored', 'quarantined', 'replayed')),
        reason         text,
        request_id     integer REFERENCES requests (id) ON DELETE SET NULL,
        message_row_id integer REFERENCES messages (id) ON DELETE SET NULL,
        attempts       integer NOT NULL DEFAULT 1,
        received_at    timestamptz NOT NULL DEFAULT now(),
        processed_at   timestamptz,
        CONSTRAINT inbound_mail_dedupe_key UNIQUE (dedupe_key)
      )`);
    await q.query(`CREATE INDEX inbound_mail_status ON inbound_mail (status, id)`);

    await q.query(`
      CREATE TABLE outbox (
        id              bigserial PRIMARY KEY,
        message_id      integer REFERENCES messages (id) ON DELETE SET NULL,
        kind            text NOT NULL,
        to_address      text NOT NULL,
        from_address    text NOT NULL,
        subject         text NOT NULL DEFAULT '',
        headers         jsonb NOT NULL DEFAULT '{}',
        text            text NOT NULL DEFAULT '',
        html            text,
        status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until    timestamptz,
        last_error      text,
        sent_at         timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX outbox_to_created ON outbox (to_address, created_at)`);
    await q.query(`CREATE INDEX outbox_message ON outbox (message_id)`);
    await q.query(`CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed'`);

    await q.query(`
      CREATE TABLE mailbox_cursors (
        mailbox         text PRIMARY KEY,
        uid_validity    bigint NOT NULL,
        last_uid        bigint NOT NULL DEFAULT 0,
        last_success_at timestamptz,
        last_error      text,
        last_error_at   timestamptz,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'mailbox_cursors',
      'outbox',
      'inbound_mail',
      'request_events',
      'attachments',
      'messages',
      'requests',
      'customers',
      'operators',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
