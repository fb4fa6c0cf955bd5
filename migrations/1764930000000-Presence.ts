import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Collision detection (issue 21 item 3): `request_presence`, who is viewing or replying to a
 * request right now, shared by every instance behind the load balancer (they share PostgreSQL and
 * nothing else).
 *
 * - One row per request and operator (the primary key): an operator's announcements overwrite each
 *   other, so a request never holds more rows than there are operators.
 * - `expires_at` (the database's clock, so instances with skewed clocks agree): a row past it is
 *   ignored by every read and deleted by later writes (a few at a time); renewing moves it on.
 * - `since`: when the operator entered this state (kept while the same state is renewed).
 * - UNLOGGED: presence is ephemeral and written every few seconds by every open request screen.
 *   An unlogged table skips the write-ahead log (cheap writes, no WAL volume, no replication
 *   traffic); the price, that it is emptied after a crash and absent on streaming replicas, costs
 *   nothing here: presence is renewed within seconds anyway. (PGlite accepts UNLOGGED too.)
 */
export class Presence1764930000000 implements MigrationInterface {
  name = 'Presence1764930000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE request_presence (
        request_id   integer NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
        operator_id  integer NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
        state        text NOT NULL CHECK (state IN ('viewing', 'replying')),
        since        timestamptz NOT NULL,
        expires_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL,
        PRIMARY KEY (request_id, operator_id)
      )`);
    // The bounded cleanup of expired rows finds them by expiry.
    await q.query(`CREATE INDEX request_presence_expires_idx ON request_presence (expires_at)`);
    // ON DELETE CASCADE of operators needs an index on operator_id to stay cheap.
    await q.query(`CREATE INDEX request_presence_operator_idx ON request_presence (operator_id)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE request_presence`);
  }
}
