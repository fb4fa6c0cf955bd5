import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity('customers')
export class Customer {
  @PrimaryGeneratedColumn()
  id: number;

  /** Lower-case, unique. */
  @Column('text')
  email: string;

  @Column('text', { nullable: true })
  name: string | null;

  @Column('boolean')
  blocked: boolean;

  /**
   * The customer's language (BCP 47, canonical case: `ru`, `pt-BR`), which picks the auto-reply
   * templates; null: unknown (the default ones). Optional in the type: older callers build
   * customers without it.
   */
  @Column('text', { nullable: true })
  locale?: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
