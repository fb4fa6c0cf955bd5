import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { BlobsService } from '../blobs/blobs.service';
import { RequestMergeService } from '../requests/request-merge.service';
import { CustomerRightsRepository, type ErasureCounts } from './customer-rights.repository';

/** What an erasure removed, as the audit keeps it (`DELETE /customers/:id` answers 204): ids and counts, nothing personal. */
export interface ErasureReport extends ErasureCounts {
  /** The erased customer's id (their row is gone). */
  customerId: number;
  /** The ids of their requests (gone; their report shells stay in erased_requests). */
  requestIds: number[];
}

/**
 * The customer's right to be forgotten (`DELETE /customers/:id`, docs/privacy.md): their requests,
 * messages, attachments, raw mail, mail to them (pending mail cancelled), webhook deliveries and
 * history about them, and their address wherever it stood in others' requests, go in one
 * transaction; what the reports count of their requests stays without them (erased_requests).
 *
 * The customer's row is locked first, as ingest's upsert locks it: mail from them arriving
 * meanwhile waits and then opens a new customer and a new request (nothing it could thread into
 * is left), or was stored before and is erased with the rest.
 */
@Injectable()
export class CustomerErasureService {
  private readonly logger = new Logger('CustomerErasure');

  constructor(
    private readonly data: CustomerRightsRepository,
    private readonly blobs: BlobsService,
    private readonly merges: RequestMergeService,
  ) {}

  /**
   * Erases customer `id` when `confirm` is their address (any case, spaces around ignored): 400
   * otherwise, with nothing changed; 404 when there is no such customer.
   */
  async erase(id: number, confirm: string): Promise<ErasureReport> {
    const outcome = await this.data.erase(
      id,
      (email) => {
        if (confirm.trim().toLowerCase() !== email.toLowerCase()) {
          throw new BadRequestException("confirm must be the customer's email address");
        }
      },
      (requestIds, manager) => this.merges.renumberAfterRemoval(requestIds, manager),
    );
    if (!outcome) throw new NotFoundException(`customer ${id} does not exist`);
    try {
      await this.afterErasure(outcome.blobHashes);
    } catch (e) {
      // The erasure committed: the bytes left behind are the blob store's sweeper's to find.
      this.logger.error(`customer ${id} erased, but releasing their blobs failed: ${(e as Error).message}`);
    }
    return { customerId: id, requestIds: outcome.requestIds, ...outcome.counts };
  }

  /**
   * Once the erasure committed: the blobs of the attachments and raw mails it deleted go from the
   * blob store now, those no other row names (one PDF sent by two customers stays with the other's
   * message). A blob a writer holds at that moment is left to the sweeper (docs/storage.md).
   */
  private async afterErasure(hashes: string[]): Promise<void> {
    await this.blobs.deleteUnreferenced(hashes);
  }
}
