import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ReadPositionsRepository } from './read-positions.repository';
import { ReadReplicas } from './read-replicas.service';
import { ReadYourWritesInterceptor, ReplicaReadInterceptor } from './replicas.interceptors';

/**
 * Read replicas (DATABASE_REPLICA_URLS, docs/replicas.md): ReadReplicas, the one routing point
 * the repositories of lists, searches, reports and exports read through, and the two global
 * interceptors that choose a standby per marked call and record each operator's writes.
 * Imported by AppModule before every feature module: its interceptors are then the outermost.
 */
@Global()
@Module({
  providers: [
    ReadPositionsRepository,
    ReadReplicas,
    { provide: APP_INTERCEPTOR, useClass: ReadYourWritesInterceptor },
    { provide: APP_INTERCEPTOR, useClass: ReplicaReadInterceptor },
  ],
  exports: [ReadReplicas],
})
export class ReplicasModule {}
