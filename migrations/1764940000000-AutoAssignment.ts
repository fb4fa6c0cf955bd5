import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Automatic assignment (issue 21 item 2, docs/assignment.md).
 *
 * - `groups.assignment`: how the group's new requests find an operator ('off', 'round_robin',
 *   'least_loaded'); `groups.reassign_when_unavailable`: an operator who becomes unavailable hands
 *   their requests in progress of this group back to the pool; `groups.last_assigned_operator_id`:
 *   the round-robin pointer (SET NULL when that operator is deleted: the round starts again).
 * - `auto_assignment_default`: one row, the pointer of the requests in no group (their mode is the
 *   AUTO_ASSIGNMENT variable); its row lock serializes their assigners as a group's row does.
 * - `operators.available` (announced by the operator; false until they do), `operators.capacity`
 *   (their own limit of requests in progress; NULL: OPERATOR_MAX_OPEN; 0: unlimited, as the
 *   global), `operators.last_auto_assigned_at` (the least-loaded tie-break: longest waiting first).
 * - A partial index of what the assigners look for, the unassigned new requests of a group: it
 *   stays as small as the waiting queue.
 */
export class AutoAssignment1764940000000 implements MigrationInterface {
  name = 'AutoAssignment1764940000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE groups
        ADD COLUMN assignment text NOT NULL DEFAULT 'off'
          CHECK (assignment IN ('off', 'round_robin', 'least_loaded')),
        ADD COLUMN reassign_when_unavailable boolean NOT NULL DEFAULT false,
        ADD COLUMN last_assigned_operator_id integer REFERENCES operators (id) ON DELETE SET NULL`);
    await q.query(`
      CREATE TABLE auto_assignment_default (
        id                        boolean PRIMARY KEY DEFAULT true CHECK (id),
        last_assigned_operator_id integer REFERENCES operators (id) ON DELETE SET NULL
      )`);
    await q.query(`INSERT INTO auto_assignment_default (id) VALUES (true)`);
    await q.query(`
      ALTER TABLE operators
        ADD COLUMN available boolean NOT NULL DEFAULT false,
        ADD COLUMN capacity integer CHECK (capacity >= 0),
        ADD COLUMN last_auto_assigned_at timestamptz`);
    await q.query(`
      CREATE INDEX requests_unassigned_idx ON requests (COALESCE(group_id, 0), id)
        WHERE status = 'new' AND operator_id IS NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX requests_unassigned_idx`);
    await q.query(
      `ALTER TABLE operators DROP COLUMN available, DROP COLUMN capacity, DROP COLUMN last_auto_assigned_at`,
    );
    await q.query(`DROP TABLE auto_assignment_default`);
    await q.query(
      `ALTER TABLE groups DROP COLUMN assignment, DROP COLUMN reassign_when_unavailable, DROP COLUMN last_assigned_operator_id`,
    );
  }
}
