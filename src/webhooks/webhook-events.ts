/** The events a webhook can subscribe to. */
export const WEBHOOK_EVENTS = [
  'request.created',
  'request.assigned',
  'request.closed',
  // A request merged into another (issue 20): its messages moved, it is closed with mergedIntoId.
  'request.merged',
  'message.received',
  'message.sent',
  // Issue 20: an operator forwarded messages to a third party; the third party answered (a side message).
  'message.forwarded',
  'message.side_received',
  // A mailbox's OAuth2 refresh was refused for good: an admin must authorize it again (issue 18).
  'mailbox.needs_reauthorization',
] as const;

/** One webhook event name. */
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The JSON body of every delivery. */
export interface WebhookPayload {
  event: WebhookEvent;
  /** ISO 8601: when the change happened (its transaction). */
  occurredAt: string;
  data: Record<string, unknown>;
}

/** Longest message text carried in an event (a chat notification needs the start of it). */
export const WEBHOOK_TEXT_LIMIT = 4000;
