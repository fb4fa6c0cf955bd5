import { BlobMigration } from '../blobs/blob-migration';
import { BLOB_STORE, type BlobStore } from '../blobs/blob-store';
import { BlobsService } from '../blobs/blobs.service';
import { optional, positiveInt } from './args';
import { Command, say } from './command';
import { CountProgress } from './progress';

/**
 * `blobs:migrate`: moves the bytes of rows stored before blob storage into the blob store, online
 * (the server may run), in small batches, resumable (run it again after a stop), with a progress bar.
 */
export const blobsMigrate: Command = {
  name: 'blobs:migrate',
  usage: '[--batch N] [--limit N]',
  summary:
    'move raw mail and attachments still stored in PostgreSQL into the blob store (online, resumable; docs/storage.md)',
  spec: { values: ['batch', 'limit'] },
  prepare(args) {
    const batch = positiveInt(args, 'batch', 20, 1000);
    const limit = optional(args, 'limit') !== undefined ? positiveInt(args, 'limit', 1, 1_000_000_000) : undefined;
    return async (ctx) => {
      const store = ctx.app.get<BlobStore>(BLOB_STORE);
      const migration = ctx.app.get(BlobMigration);
      const bar = new CountProgress(`moving to ${store.description}`);
      const done = await migration.run({ batch, limit }, (p) => bar.update(p.moved, p.total));
      bar.end();
      const left = await migration.pending();
      say(
        `${done.moved} row(s) moved to ${store.description}; ${left.attachments} attachment(s) and ${left.raw} raw mail(s) still in PostgreSQL`,
      );
      return 0;
    };
  },
};

/** `blobs:sweep`: one sweep now (the server sweeps every 15 minutes). */
export const blobsSweep: Command = {
  name: 'blobs:sweep',
  usage: '[--grace-minutes N]',
  summary: 'delete blobs no row names, untouched for BLOB_SWEEP_GRACE_MINUTES (or --grace-minutes)',
  spec: { values: ['grace-minutes'] },
  prepare(args) {
    const grace =
      optional(args, 'grace-minutes') !== undefined ? positiveInt(args, 'grace-minutes', 1, 525_600) : undefined;
    return async (ctx) => {
      const swept = await ctx.app.get(BlobsService).sweep(grace === undefined ? undefined : grace * 60);
      say(`${swept} unreferenced blob(s) deleted`);
      return 0;
    };
  },
};
