import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search on one stored, indexed vector per request (the senders of its customer messages,
 * and the subjects and texts of its customer, operator and note messages; positions stripped)
 * instead of two expression indexes joined at query time: a common word then costs one GIN lookup
 * on requests, combined with the other filters' indexes.
 */
export class RequestSearchVector1764300000000 implements MigrationInterface {
  name = 'RequestSearchVector1764300000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE requests ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector`);
    await q.query(`
      UPDATE requests r SET search_vector = coalesce((
        SELECT strip(to_tsvector('simple', string_agg(
                 left(CASE WHEN m.kind = 'customer' THEN m.from_address || ' ' ELSE '' END || m.subject || ' ' || m.text, 10000),
                 ' ' ORDER BY m.seq)))
          FROM messages m WHERE m.request_id = r.id AND m.kind IN ('customer', 'operator', 'note')), ''::tsvector)`);
    await q.query(`CREATE INDEX requests_search ON requests USING gin (search_vector)`);
    await q.query(`DROP INDEX IF EXISTS requests_subject_fts`);
    await q.query(`DROP INDEX IF EXISTS messages_fts`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX messages_fts ON messages USING gin (to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(text, '')))`,
    );
    await q.query(`CREATE INDEX requests_subject_fts ON requests USING gin (to_tsvector('simple', subject))`);
    await q.query(`DROP INDEX requests_search`);
    await q.query(`ALTER TABLE requests DROP COLUMN search_vector`);
  }
}
