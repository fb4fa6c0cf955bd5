import * as path from 'node:path';
import { Global, Inject, Module, OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { BLOB_STORE, type BlobStore } from './blob-store';
import { BlobJobs } from './blob-jobs';
import { BlobMigration } from './blob-migration';
import { BlobsRepository } from './blobs.repository';
import { BlobsService } from './blobs.service';
import { FsBlobStore } from './fs-blob-store';
import { S3BlobStore } from './s3-blob-store';

/** The blob store AppConfig.blobs asks for: S3 when BLOB_STORE_URL is set, else DATA_DIR/blobs. */
export function createBlobStore(config: AppConfig): BlobStore {
  const b = config.blobs;
  if (b.url) return new S3BlobStore({ ...b, url: b.url });
  return new FsBlobStore(path.join(config.dataDir, 'blobs'));
}

/**
 * Blob storage (src/blobs/, docs/storage.md): the store, BlobsService (write, read, free), and the
 * sweeper and retention jobs. Global: the inbound pipeline, messages and the outbox read and write blobs.
 */
@Global()
@Module({
  providers: [
    { provide: BLOB_STORE, inject: [APP_CONFIG], useFactory: createBlobStore },
    BlobsRepository,
    BlobsService,
    BlobJobs,
    BlobMigration,
  ],
  exports: [BlobsService, BlobJobs, BlobMigration, BLOB_STORE],
})
export class BlobsModule implements OnModuleDestroy {
  constructor(@Inject(BLOB_STORE) private readonly store: BlobStore) {}

  onModuleDestroy(): void {
    if (this.store instanceof S3BlobStore) this.store.destroy();
  }
}
