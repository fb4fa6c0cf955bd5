import { SetMetadata } from '@nestjs/common';

export const AUDITED = 'maildesk:audited';
export const NOT_AUDITED = 'maildesk:not-audited';

/**
 * How a route is written to the audit log, where the defaults inferred from its path
 * (audit/audit-routes.ts) are not right. Every field is optional; what is left out is inferred.
 */
export interface AuditOptions {
  /** The kind of thing changed (`request`, `operator`, ...): which snapshot is taken before and after. */
  entity?: string;
  /** What was done, `<entity>.<verb>` (`request.assign`). */
  action?: string;
  /** The route parameter holding the entity's id (`id` by default when the path has it). */
  idParam?: string;
  /**
   * Body fields recorded by their length only, never their content (the text of a message: the
   * audit says who wrote to whom and when; the conversation itself keeps what was written).
   */
  lengthOnly?: string[];
  /**
   * false: no snapshot of the entity before or after (an erasure: a snapshot would copy into the
   * audit what the route erases). Default true.
   */
  snapshot?: boolean;
  /**
   * Body fields recorded as present only, neither their content nor their length (the confirmation
   * of a customer's erasure is their address: the record of an erasure holds no personal data).
   */
  presentOnly?: string[];
  /**
   * The handler's answer is written under `data.answer` (a route whose answer is ids and counts
   * only, such as an erasure's report: the record says what went without saying whose it was).
   */
  recordAnswer?: boolean;
  /** The name under `data` of the id the answer carries when it is not the entity's (`messageId`). */
  resultIdAs?: string;
}

/**
 * Sets how this route (or every route of a controller) is audited. Without it a mutating operator
 * route is audited all the same, by the defaults inferred from its path: this only refines them.
 */
export const Audited = (options: AuditOptions) => SetMetadata(AUDITED, options);

/**
 * Leaves a mutating route out of the audit log, with the reason why it changes nothing worth
 * auditing (a heartbeat). The route-coverage test lists these exemptions; keep them few.
 */
export const NotAudited = (reason: string) => SetMetadata(NOT_AUDITED, reason);
