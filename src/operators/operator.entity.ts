import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type OperatorRole = 'admin' | 'operator';
export const OPERATOR_ROLES: OperatorRole[] = ['admin', 'operator'];

@Entity('operators')
export class Operator {
  @PrimaryGeneratedColumn()
  id: number;

  @Column('text')
  name: string;

  @Column('text')
  email: string;

  @Column('text')
  role: OperatorRole;

  @Column('text', { name: 'password_hash', select: false })
  passwordHash: string;

  @Column('boolean')
  active: boolean;

  /** Appended to the mail of this operator's messages (before the mailbox's signature); null: none. */
  @Column('text', { nullable: true })
  signature: string | null;

  /**
   * Announced by the operator (PUT /operators/me/availability): automatic assignment gives requests
   * only to available operators (docs/assignment.md).
   */
  @Column('boolean')
  available: boolean;

  /** Most requests in progress this operator may hold; null: OPERATOR_MAX_OPEN; 0: unlimited. */
  @Column('integer', { nullable: true })
  capacity: number | null;

  /** Bumped on deactivation and password change: tokens carrying an older version are refused. */
  @Column('integer', { name: 'token_version' })
  tokenVersion: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  /** The groups the operator works in (operator_groups; not a column): set by OperatorsService on what it returns. */
  groupIds?: number[];

  /** How many requests the operator holds in progress (not a column): set by OperatorsService.list. */
  load?: number;
}
