import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Message } from './message.entity';

@Entity('attachments')
export class Attachment {
  @PrimaryGeneratedColumn()
  id: number;

  @Column('integer', { name: 'message_id' })
  messageId: number;

  @ManyToOne(() => Message, (m) => m.attachments, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'message_id' })
  message?: Message;

  @Column('text')
  filename: string;

  @Column('text', { name: 'content_type' })
  contentType: string;

  @Column('integer')
  size: number;

  @Column('text')
  sha256: string;

  @Column('text', { name: 'content_id', nullable: true })
  contentId: string | null;

  /** The bytes of a row stored before blob storage (`maildesk blobs migrate` moves them); null: in the blob store under `sha256`. */
  @Column('bytea', { select: false, nullable: true })
  content: Buffer | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
