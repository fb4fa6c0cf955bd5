import { Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BlobsRepository } from './blobs.repository';
import { BlobsService } from './blobs.service';

/** How far a migration is: rows moved so far of those pending when it started. */
export interface MigrationProgress {
  moved: number;
  total: number;
}

/**
 * `maildesk blobs migrate`: moves the bytes that rows stored before blob storage still hold
 * (attachments.content, inbound_mail.raw) into the blob store, online, a few rows at a time: each
 * row's blob is written durably (BlobsService.put), then its bytes leave the row in one short
 * UPDATE (which changes nothing when the row changed meanwhile: retention, a replay). Resumable: a
 * row is pending while it holds bytes, so a run that stopped is simply run again.
 */
@Injectable()
export class BlobMigration {
  constructor(
    private readonly blobs: BlobsService,
    private readonly repository: BlobsRepository,
  ) {}

  /** Rows still holding bytes. */
  pending(): Promise<{ attachments: number; raw: number }> {
    return this.repository.countPending();
  }

  /** Moves every pending row, `batch` rows per read; `limit` rows at most (for tests and partial runs). */
  async run(
    options: { batch: number; limit?: number },
    onProgress: (p: MigrationProgress) => void = () => undefined,
  ): Promise<MigrationProgress> {
    const pending = await this.pending();
    const progress = { moved: 0, total: Math.min(pending.attachments + pending.raw, options.limit ?? Infinity) };
    const room = () => progress.moved < progress.total;
    for (let after = 0; room();) {
      const rows = await this.repository.pendingAttachments(
        after,
        Math.min(options.batch, progress.total - progress.moved),
      );
      if (!rows.length) break;
      for (const r of rows) {
        await this.blobs.put([{ bytes: r.content, sha256: r.sha256 }]);
        await this.repository.movedAttachment(r.id, r.sha256);
        progress.moved++;
        after = r.id;
      }
      onProgress(progress);
      await nextTurn();
    }
    for (let after = 0; room();) {
      const rows = await this.repository.pendingRaw(after, Math.min(options.batch, progress.total - progress.moved));
      if (!rows.length) break;
      for (const r of rows) {
        const [sha256] = await this.blobs.put([{ bytes: r.raw }]);
        await this.repository.movedRaw(r.id, sha256);
        progress.moved++;
        after = Number(r.id);
      }
      onProgress(progress);
      await nextTurn();
    }
    return progress;
  }
}
