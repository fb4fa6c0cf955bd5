import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service levels and satisfaction on requests: due dates, the moment each target was found missed
 * (set once by the breach check), the customer's rating; indexes for the breach check, the overdue
 * list and the reports over closing times.
 */
export class SlaRatingsCapacity1764100000000 implements MigrationInterface {
  name = 'SlaRatingsCapacity1764100000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE requests
        ADD COLUMN first_response_due_at          timestamptz,
        ADD COLUMN resolution_due_at              timestamptz,
        ADD COLUMN sla_breached_first_response_at timestamptz,
        ADD COLUMN sla_breached_resolution_at     timestamptz,
        ADD COLUMN satisfaction_rating            smallint CHECK (satisfaction_rating BETWEEN 1 AND 5),
        ADD COLUMN satisfaction_rated_at          timestamptz`);
    // Open requests still waiting for a first answer, by due date (breach check, GET /requests?overdue=true).
    await q.query(
      `CREATE INDEX requests_first_response_due ON requests (first_response_due_at) WHERE status <> 'closed' AND first_response_at IS NULL`,
    );
    // Open requests by resolution due date.
    await q.query(`CREATE INDEX requests_resolution_due ON requests (resolution_due_at) WHERE status <> 'closed'`);
    // Reports over requests closed in a period.
    await q.query(`CREATE INDEX requests_closed_at ON requests (closed_at) WHERE closed_at IS NOT NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX requests_closed_at`);
    await q.query(`DROP INDEX requests_resolution_due`);
    await q.query(`DROP INDEX requests_first_response_due`);
    await q.query(`
      ALTER TABLE requests
        DROP COLUMN satisfaction_rated_at,
        DROP COLUMN satisfaction_rating,
        DROP COLUMN sla_breached_resolution_at,
        DROP COLUMN sla_breached_first_response_at,
        DROP COLUMN resolution_due_at,
        DROP COLUMN first_response_due_at`);
  }
}
