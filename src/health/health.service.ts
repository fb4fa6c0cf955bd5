import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** How long a readiness probe waits for the database. */
const PROBE_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Readiness: the database answers and every migration is applied. */
@Injectable()
export class HealthService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Resolves when ready; 503 naming what is wrong otherwise. */
  async checkReady(): Promise<void> {
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), PROBE_TIMEOUT_MS);
    } catch (e) {
      throw new ServiceUnavailableException(`database unreachable: ${(e as Error).message}`);
    }
    let pending: boolean;
    try {
      pending = await withTimeout(this.dataSource.showMigrations(), PROBE_TIMEOUT_MS);
    } catch (e) {
      throw new ServiceUnavailableException(`migrations could not be checked: ${(e as Error).message}`);
    }
    if (pending) throw new ServiceUnavailableException('database migrations are pending');
  }
}
