import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type RequestEventType =
  | 'created'
  | 'message'
  | 'assigned'
  | 'closed'
  | 'reply_sent'
  | 'auto_reply_sent'
  | 'auto_reply_suppressed'
  | 'bounce'
  | 'note'
  | 'sla_breached'
  | 'sla_changed'
  | 'reassigned'
  | 'unassigned'
  | 'rated'
  /** An operator forwarded messages to a third party (a side thread; SideThreadsService). */
  | 'forwarded'
  /** An operator's follow-up in a side thread. */
  | 'side_reply'
  /** A third party's answer in a side thread (stored as a `side` message, never mailed on). */
  | 'side_message'
  // Merge and split (issue 20, request-merge.service.ts): on the target and the source of each.
  | 'merged'
  | 'merged_into'
  | 'split'
  | 'split_from'
  | 'participants_added'
  | 'participants_changed'
  /** The priority changed: { from, to, dueDatesKept? } (RequestsService.setPriority). */
  | 'priority_changed'
  /** The tags were replaced: { added, removed } (RequestsService.setTags). */
  | 'tags_changed';
export type EventActor = 'customer' | 'operator' | 'system';

@Entity('request_events')
export class RequestEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column('integer', { name: 'request_id' })
  requestId: number;

  @Column('text')
  type: RequestEventType;

  @Column('text')
  actor: EventActor;

  @Column('integer', { name: 'operator_id', nullable: true })
  operatorId: number | null;

  @Column('jsonb')
  data: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
