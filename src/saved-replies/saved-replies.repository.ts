import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

const COLUMNS = `id, name, text, group_id AS "groupId", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The statements of saved replies and operators' signatures (written to saved-replies.repository.sql by `npm run sql`). */
export const SQL = {
  /**
   * The replies of the scope $1 (group ids: global replies and those groups'; NULL: every reply),
   * only group $2's when given, by name.
   */
  list: `SELECT ${COLUMNS} FROM saved_replies
       WHERE ($1::integer[] IS NULL OR group_id IS NULL OR group_id = ANY ($1::integer[]))
         AND ($2::integer IS NULL OR group_id = $2::integer)
       ORDER BY lower(name), id`,
  findById: `SELECT ${COLUMNS} FROM saved_replies WHERE id = $1`,
  groupExists: `SELECT 1 FROM groups WHERE id = $1`,
  /** No row when the name is taken in the same scope, in any case (saved_replies_scope_name_key). */
  insert: `INSERT INTO saved_replies (name, text, group_id, created_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT ((lower(name)), (coalesce(group_id, 0))) DO NOTHING
       RETURNING ${COLUMNS}`,
  /** No row when there is no such reply or another reply of its scope has the name (in any case). */
  update: `UPDATE saved_replies r SET name = coalesce($2, r.name), text = coalesce($3, r.text), updated_at = now()
       WHERE r.id = $1 AND NOT EXISTS (
         SELECT 1 FROM saved_replies o WHERE o.id <> r.id AND lower(o.name) = lower(coalesce($2, r.name))
           AND coalesce(o.group_id, 0) = coalesce(r.group_id, 0))
       RETURNING ${COLUMNS}`,
  remove: `DELETE FROM saved_replies WHERE id = $1 RETURNING id`,
  /** An operator's signature (NULL: none), appended to the mail of their messages. */
  signatureOf: `SELECT signature FROM operators WHERE id = $1`,
} as const;

/** A canned response operators start a message from. */
export interface SavedReply {
  id: number;
  name: string;
  /** With `{{variables}}` (reply-variables.ts), filled in when used. */
  text: string;
  /** null: global (every operator sees it). */
  groupId: number | null;
  /** The operator who created it (null: deleted since). */
  createdBy: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What the saved-reply rules need of storage (SavedRepliesService; an in-memory fake in unit tests). */
export interface SavedRepliesStore {
  /** The replies of `scope` (null: all; else global ones and those groups'), only group `groupId`'s when given, by name. */
  list(scope: readonly number[] | null, groupId: number | null): Promise<SavedReply[]>;
  /** With `manager`, in the caller's transaction (the embedded database has one connection). */
  findById(id: number, manager?: EntityManager): Promise<SavedReply | null>;
  groupExists(id: number): Promise<boolean>;
  /** The new reply, or null when its scope has a reply of this name (in any case). */
  insert(reply: Pick<SavedReply, 'name' | 'text' | 'groupId' | 'createdBy'>): Promise<SavedReply | null>;
  /** The changed reply, or null when missing or its scope has another reply of this name. */
  update(id: number, changes: { name?: string; text?: string }): Promise<SavedReply | null>;
  /** Whether a reply was deleted. */
  remove(id: number): Promise<boolean>;
  /** The operator's signature, or null (none, or no such operator); with `manager`, in the caller's transaction. */
  signatureOf(operatorId: number, manager?: EntityManager): Promise<string | null>;
}

/** The saved_replies table, and operators.signature. */
@Injectable()
export class SavedRepliesRepository implements SavedRepliesStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  list(scope: readonly number[] | null, groupId: number | null): Promise<SavedReply[]> {
    return this.dataSource.query(SQL.list, [scope, groupId]);
  }

  async findById(id: number, manager?: EntityManager): Promise<SavedReply | null> {
    const rows: SavedReply[] = await (manager ?? this.dataSource).query(SQL.findById, [id]);
    return rows[0] ?? null;
  }

  async groupExists(id: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(SQL.groupExists, [id]);
    return rows.length > 0;
  }

  async insert(reply: Pick<SavedReply, 'name' | 'text' | 'groupId' | 'createdBy'>): Promise<SavedReply | null> {
    const rows: SavedReply[] = await this.dataSource.query(SQL.insert, [
      reply.name,
      reply.text,
      reply.groupId,
      reply.createdBy,
    ]);
    return rows[0] ?? null;
  }

  async update(id: number, changes: { name?: string; text?: string }): Promise<SavedReply | null> {
    const [rows]: [SavedReply[], number] = await this.dataSource.query(SQL.update, [
      id,
      changes.name ?? null,
      changes.text ?? null,
    ]);
    return rows[0] ?? null;
  }

  async remove(id: number): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.dataSource.query(SQL.remove, [id]);
    return rows.length > 0;
  }

  async signatureOf(operatorId: number, manager?: EntityManager): Promise<string | null> {
    const rows: Array<{ signature: string | null }> = await (manager ?? this.dataSource).query(SQL.signatureOf, [
      operatorId,
    ]);
    return rows[0]?.signature ?? null;
  }
}
