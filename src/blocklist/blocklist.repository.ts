import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** The statements of the blocklist table (written to blocklist.repository.sql by `npm run sql`). */
export const SQL = {
  list: `SELECT * FROM blocklist ORDER BY id`,
  insert: `INSERT INTO blocklist (pattern, reason, created_by) VALUES ($1, $2, $3)
    ON CONFLICT (pattern) DO NOTHING RETURNING *`,
  delete: `DELETE FROM blocklist WHERE id = $1`,
  longestMatch: `SELECT * FROM blocklist WHERE pattern = ANY ($1) ORDER BY length(pattern) DESC LIMIT 1`,
} as const;

/** One row of the blocklist table. */
export interface BlocklistRow {
  id: number;
  pattern: string;
  reason: string | null;
  createdBy: number | null;
  createdAt: Date;
}

function fromRow(r: Record<string, unknown>): BlocklistRow {
  return {
    id: Number(r.id),
    pattern: r.pattern as string,
    reason: (r.reason as string | null) ?? null,
    createdBy: r.created_by === null || r.created_by === undefined ? null : Number(r.created_by),
    createdAt: new Date(r.created_at as string | Date),
  };
}

/** What the blocklist rules need of storage (BlocklistService; an in-memory fake in unit tests). */
export interface BlocklistStore {
  list(): Promise<BlocklistRow[]>;
  /** The new row, or null when the pattern is already listed. */
  insert(pattern: string, reason: string | null, createdBy: number | null): Promise<BlocklistRow | null>;
  /** Whether a row was deleted. */
  delete(id: number): Promise<boolean>;
  /** The longest of `patterns` that is listed, or null (in the caller's transaction when given). */
  longestMatch(patterns: string[], manager?: EntityManager): Promise<BlocklistRow | null>;
}

/** The blocklist table. */
@Injectable()
export class BlocklistRepository implements BlocklistStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(): Promise<BlocklistRow[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.list);
    return rows.map(fromRow);
  }

  async insert(pattern: string, reason: string | null, createdBy: number | null): Promise<BlocklistRow | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.insert, [pattern, reason, createdBy]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async delete(id: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(SQL.delete, [id]);
    return count > 0;
  }

  async longestMatch(
    patterns: string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<BlocklistRow | null> {
    const rows: Record<string, unknown>[] = await manager.query(SQL.longestMatch, [patterns]);
    return rows[0] ? fromRow(rows[0]) : null;
  }
}
