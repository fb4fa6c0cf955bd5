import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Priority and tags of requests (issue 21 item 1).
 *
 * - `priority`: 'low', 'normal' (every request before this), 'high' or 'urgent'. `priority_rank`
 *   is generated from it (urgent 1, high 2, normal 3, low 4): the one column `sort=priority`
 *   orders by (urgent first), usable as a plain column in every shape of the queue statement.
 * - `tags`: free labels, normalized by the service (src/requests/tags.ts: lower-case, trimmed,
 *   inner whitespace to '-', 1-50 characters of letters, digits and `-_.:/+#`, at most 20 per
 *   request, sorted, no duplicates); the CHECKs repeat the limits that matter for storage.
 *   A text[] with a GIN index: the list's filter (`tags @> ARRAY[...]`, all of them) and the
 *   counts (`unnest`) read one row per request, no join.
 * - `requests_status_priority`: the queue of one status sorted by priority (then id: oldest first), and
 *   the priority filter. The default queue (status, created_at) keeps requests_status_created.
 * - The report's covering indexes (1764400000000-ReportCoveringIndexes) are made again with
 *   `priority` included, so the summary (counts by priority, `?priority=`) stays index-only; same
 *   keys, so the list's plans do not change.
 */
export class PriorityTags1764920000000 implements MigrationInterface {
  name = 'PriorityTags1764920000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE requests
      ADD COLUMN priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
      ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20)`);
    await q.query(`ALTER TABLE requests ADD COLUMN priority_rank smallint NOT NULL GENERATED ALWAYS AS (
      CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 ELSE 4 END) STORED`);
    await q.query(`CREATE INDEX requests_tags ON requests USING gin (tags)`);
    await q.query(`CREATE INDEX requests_status_priority ON requests (status, priority_rank, id)`);
    await this.coveringIndexes(q, ', priority');
  }

  /** The report's two covering indexes, with `extra` columns included. */
  private async coveringIndexes(q: QueryRunner, extra: string): Promise<void> {
    await q.query(
      `CREATE INDEX requests_created_covering ON requests (created_at, id)
         INCLUDE (status, operator_id, first_response_at, first_response_due_at, resolution_due_at, closed_at${extra})`,
    );
    await q.query(`DROP INDEX requests_created`);
    await q.query(`ALTER INDEX requests_created_covering RENAME TO requests_created`);
    await q.query(
      `CREATE INDEX requests_closed_at_covering ON requests (closed_at)
         INCLUDE (created_at, operator_id, satisfaction_rating${extra}) WHERE closed_at IS NOT NULL`,
    );
    await q.query(`DROP INDEX requests_closed_at`);
    await q.query(`ALTER INDEX requests_closed_at_covering RENAME TO requests_closed_at`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await this.coveringIndexes(q, '');
    await q.query(`DROP INDEX requests_status_priority`);
    await q.query(`DROP INDEX requests_tags`);
    await q.query(`ALTER TABLE requests DROP COLUMN priority_rank, DROP COLUMN tags, DROP COLUMN priority`);
  }
}
