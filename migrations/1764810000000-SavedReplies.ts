import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Saved replies and signatures (issue 20 item 7).
 *
 * - `saved_replies`: canned responses an operator starts a message from; `group_id` NULL for a
 *   global one (every operator sees it), else the group's (its operators see it; deleting the group
 *   deletes its replies). Names are unique regardless of case within one scope (a global reply and
 *   a group's may share a name). Bounded sizes (the API checks them first, with clear 400s).
 * - `operators.signature`: appended to the mail of that operator's messages (not auto-replies).
 */
export class SavedReplies1764810000000 implements MigrationInterface {
  name = 'SavedReplies1764810000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE saved_replies (
        id          serial PRIMARY KEY,
        name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 20000),
        group_id    integer NULL REFERENCES groups(id) ON DELETE CASCADE,
        created_by  integer NULL REFERENCES operators(id) ON DELETE SET NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX saved_replies_scope_name_key ON saved_replies (lower(name), coalesce(group_id, 0))`,
    );
    await q.query(`CREATE INDEX saved_replies_group_idx ON saved_replies (group_id)`);
    await q.query(`ALTER TABLE operators ADD COLUMN signature text NULL CHECK (length(signature) <= 2000)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE operators DROP COLUMN signature`);
    await q.query(`DROP TABLE saved_replies`);
  }
}
