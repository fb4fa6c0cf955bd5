import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Operator } from '../operators/operator.entity';
import { Customer } from './customer.entity';
import type { Priority } from './tags';

export type RequestStatus = 'new' | 'in_progress' | 'closed';
export const REQUEST_STATUSES: RequestStatus[] = ['new', 'in_progress', 'closed'];

@Entity('requests')
export class ServiceRequest {
  @PrimaryGeneratedColumn()
  id: number;

  @Column('integer', { name: 'customer_id' })
  customerId: number;

  @ManyToOne(() => Customer, { nullable: false })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  @Column('text')
  subject: string;

  @Column('text')
  status: RequestStatus;

  @Column('integer', { name: 'operator_id', nullable: true })
  operatorId: number | null;

  @ManyToOne(() => Operator, { nullable: true })
  @JoinColumn({ name: 'operator_id' })
  operator?: Operator | null;

  @Column('integer', { name: 'previous_request_id', nullable: true })
  previousRequestId: number | null;

  /** Highest message seq on this request; incremented under the row lock to keep seq gapless. */
  @Column('integer', { name: 'last_seq' })
  lastSeq: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;

  @Column('timestamptz', { name: 'first_response_at', nullable: true })
  firstResponseAt: Date | null;

  @Column('timestamptz', { name: 'closed_at', nullable: true })
  closedAt: Date | null;

  @Column('timestamptz', { name: 'last_message_at', nullable: true })
  lastMessageAt: Date | null;

  /** When the first operator answer is due (SLA); null = no target. */
  @Column('timestamptz', { name: 'first_response_due_at', nullable: true })
  firstResponseDueAt: Date | null;

  /** When the request should be closed (SLA); null = no target. */
  @Column('timestamptz', { name: 'resolution_due_at', nullable: true })
  resolutionDueAt: Date | null;

  /** When the breach check found the first-response target missed (set once). */
  @Column('timestamptz', { name: 'sla_breached_first_response_at', nullable: true })
  slaBreachedFirstResponseAt: Date | null;

  /** When the breach check found the resolution target missed (set once). */
  @Column('timestamptz', { name: 'sla_breached_resolution_at', nullable: true })
  slaBreachedResolutionAt: Date | null;

  /** The customer's rating 1-5 from the closing mail's links. */
  @Column('smallint', { name: 'satisfaction_rating', nullable: true })
  satisfactionRating: number | null;

  @Column('timestamptz', { name: 'satisfaction_rated_at', nullable: true })
  satisfactionRatedAt: Date | null;

  /** The mailbox the request's mail came to; null: the default mailbox. */
  @Column('integer', { name: 'mailbox_id', nullable: true })
  mailboxId: number | null;

  /**
   * The request's mailbox as read with it (the default one for mailboxId null); null only while
   * no mailbox row exists at all. Not a column.
   */
  mailbox?: { id: number; address: string } | null;

  /** The request this one was merged into (then it is closed); null otherwise. */
  @Column('integer', { name: 'merged_into_id', nullable: true })
  mergedIntoId: number | null;

  /** The request this one was split off; null otherwise. */
  @Column('integer', { name: 'split_from_id', nullable: true })
  splitFromId: number | null;

  /** The group (queue) that works the request; null: none (seen by admins and operators in no group only). */
  @Column('integer', { name: 'group_id', nullable: true })
  groupId: number | null;

  /** low, normal, high or urgent (tags.ts); sets the SLA targets (RequestsService.dueDates). */
  @Column('text', { default: 'normal' })
  priority: Priority;

  /** Free labels, normalized (tags.ts normalizeTags), sorted. */
  @Column('text', { array: true, default: () => "'{}'" })
  tags: string[];
}
