import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** The readiness probe's statement (written to health.repository.sql by `npm run sql`). */
export const SQL = {
  ping: `SELECT 1`,
} as const;

/** What the readiness rules need of the database (HealthService; a fake in unit tests). */
export interface HealthStore {
  /** Resolves when the database answers a statement. */
  ping(): Promise<void>;
  /** Whether a migration is not applied yet. */
  pendingMigrations(): Promise<boolean>;
}

/** The database as the readiness probe asks it: a trivial statement, and TypeORM's migration check. */
@Injectable()
export class HealthRepository implements HealthStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async ping(): Promise<void> {
    await this.dataSource.query(SQL.ping);
  }

  pendingMigrations(): Promise<boolean> {
    return this.dataSource.showMigrations();
  }
}
