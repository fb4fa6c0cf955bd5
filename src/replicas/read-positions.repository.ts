import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../database/prepared';

/** The statements of read replicas' bookkeeping, all on the primary but `standby` (docs/replicas.md). */
export const SQL = {
  /**
   * After an operator's change committed: the primary's WAL position now, which is past that
   * change's commit. GREATEST: a slower concurrent call of the same operator never moves it back.
   */
  record: `
      INSERT INTO replica_read_positions (operator_id, lsn) VALUES ($1, pg_current_wal_lsn())
      ON CONFLICT (operator_id) DO UPDATE SET lsn = GREATEST(replica_read_positions.lsn, EXCLUDED.lsn)`,
  /** The position a standby must have replayed before it serves this operator's reads (primary key). */
  positionOf: `SELECT lsn::text AS lsn FROM replica_read_positions WHERE operator_id = $1`,
  /** The primary's WAL position, sampled every check to measure the standbys' lag. */
  primaryPosition: `SELECT pg_current_wal_lsn()::text AS lsn`,
  /** On a standby: whether it is one, and how far it has replayed. */
  standby: `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn`,
} as const;

/** A WAL position (`16/B374D848`) as a number that compares as PostgreSQL's pg_lsn does. */
export function lsnValue(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`not a WAL position: ${text}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** Read-your-writes positions (replica_read_positions) and the WAL positions the health checks read. */
@Injectable()
export class ReadPositionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(operatorId: number): Promise<void> {
    await this.dataSource.query(SQL.record, [operatorId]);
  }

  /** 0 when the operator changed nothing since positions were kept. */
  async positionOf(operatorId: number): Promise<bigint> {
    const rows = await preparedQuery<{ lsn: string }>(this.dataSource, SQL.positionOf, [operatorId]);
    return rows.length ? lsnValue(rows[0].lsn) : 0n;
  }

  async primaryPosition(): Promise<bigint> {
    const rows: Array<{ lsn: string }> = await this.dataSource.query(SQL.primaryPosition);
    return lsnValue(rows[0].lsn);
  }

  /** On `standby`: null when it is not a standby (promoted, or the URL names a primary). */
  async replayed(standby: DataSource): Promise<bigint | null> {
    const rows: Array<{ standby: boolean; lsn: string | null }> = await standby.query(SQL.standby);
    return rows[0]?.standby && rows[0].lsn ? lsnValue(rows[0].lsn) : null;
  }
}
