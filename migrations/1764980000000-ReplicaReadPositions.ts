import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read-your-writes with read replicas (issue 22 item 2, docs/replicas.md): per operator, the
 * primary's WAL position (pg_current_wal_lsn()) right after their latest change through the API
 * committed. Their lists, searches, reports and exports go to a standby only once it has replayed
 * that far; until then to the primary. Shared by every instance (the next call may land on another
 * one behind nginx), written only when DATABASE_REPLICA_URLS is set, read by primary key.
 * A row goes with its operator.
 */
export class ReplicaReadPositions1764980000000 implements MigrationInterface {
  name = 'ReplicaReadPositions1764980000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE replica_read_positions (
        operator_id integer PRIMARY KEY REFERENCES operators(id) ON DELETE CASCADE,
        lsn         pg_lsn NOT NULL
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE replica_read_positions`);
  }
}
