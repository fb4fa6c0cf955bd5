import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EventEmitter } from 'node:events';
import { DataSource } from 'typeorm';
import { POOL_WAIT_EVENT, type PoolLane } from '../database/priority-pool';
import { MetricsService } from './metrics.service';

/**
 * Feeds maildesk_db_connection_wait_seconds from the pool's waits (PriorityPool) as they happen, for
 * as long as `GET /metrics` is served (MetricsModule). `driver.master` is TypeORM's pool
 * (docs/performance.md, "The pool that serves the API first"; test/integration/pg-internals).
 */
@Injectable()
export class PoolWaitMetrics {
  constructor(metrics: MetricsService, @InjectDataSource() dataSource: DataSource) {
    const pool = (dataSource.driver as unknown as { master?: EventEmitter }).master;
    pool?.on(POOL_WAIT_EVENT, (lane: PoolLane, seconds: number) => metrics.dbConnectionWait.observe({ lane }, seconds));
  }
}
