import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The customer's right to be forgotten (issue 22 item 5, src/customers/customer-erasure.service.ts):
 * `erased_requests` keeps, for each request of an erased customer, only what the reports count
 * (dates, status, priority, assignee, group, SLA targets, rating) and nothing that names or
 * describes the customer: no customer, no subject, no tags, no text. The reports read requests and
 * these shells together (src/reports/reports.repository.ts), so erasing a customer changes no
 * total. The live tables (lists, searches, SLA checks, loads, auto-assignment) never see them.
 *
 * No foreign keys: an operator or a group removed later leaves the number, as an old report row
 * would. Indexes serve the reports' two cohorts (created in, closed in a period).
 */
export class CustomerErasure1764990000000 implements MigrationInterface {
  name = 'CustomerErasure1764990000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE erased_requests (
        id                    integer PRIMARY KEY,
        status                text NOT NULL CHECK (status IN ('new', 'in_progress', 'closed')),
        priority              text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        operator_id           integer,
        group_id              integer,
        created_at            timestamptz NOT NULL,
        first_response_at     timestamptz,
        first_response_due_at timestamptz,
        resolution_due_at     timestamptz,
        closed_at             timestamptz,
        satisfaction_rating   smallint CHECK (satisfaction_rating BETWEEN 1 AND 5),
        erased_at             timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX erased_requests_created ON erased_requests (created_at)`);
    await q.query(`CREATE INDEX erased_requests_closed ON erased_requests (closed_at) WHERE closed_at IS NOT NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS erased_requests`);
  }
}
