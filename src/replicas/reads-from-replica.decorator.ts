import { SetMetadata } from '@nestjs/common';

export const READS_FROM_REPLICA = 'maildesk:reads-from-replica';

/**
 * Marks a read-only route whose reads may be served by a read replica (DATABASE_REPLICA_URLS):
 * lists, searches, reports, exports. Its repositories' reads go through ReadReplicas.read(); the
 * caller's own changes are still seen (read-your-writes, docs/replicas.md).
 */
export const ReadsFromReplica = (): MethodDecorator => SetMetadata(READS_FROM_REPLICA, true);
