import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log (issue 21 item 6): one row for every change an operator, an admin or a personal
 * access token made through the API (and for the CLI's changes, actor 'system'), written by
 * src/audit/ and read by admins with GET /audit.
 *
 * - No foreign keys: a row outlives the operator, token or request it names (an audit that loses
 *   rows when an operator is deleted is no audit), and names them by id as they were.
 * - Append-only in the database: a trigger refuses UPDATE and TRUNCATE always, and DELETE unless
 *   the deleting transaction set `maildesk.audit_purge` to 'on' (SET LOCAL; only the retention job
 *   of src/audit/audit-purge.ts does). That guards against every route and every repository of the
 *   application, not against someone with SQL access: the setting is an ordinary one any session
 *   may set, and a superuser (or the table's owner) can drop the trigger. Deployments that need the
 *   stronger guarantee run the app as a role with INSERT and SELECT on audit_log only
 *   (docs/audit.md).
 * - `at` is clock_timestamp() (the moment of the insert, not of the transaction's start).
 * - Indexes serve GET /audit's filters, newest first (id order is insert order), and the purge (at).
 */
export class AuditLog1764960000000 implements MigrationInterface {
  name = 'AuditLog1764960000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id                 bigserial PRIMARY KEY,
        at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_operator_id  integer NULL,
        actor_email        text NULL CHECK (length(actor_email) <= 320),
        actor_role         text NOT NULL CHECK (actor_role IN ('admin', 'operator', 'system')),
        api_token_id       integer NULL,
        ip                 text NULL CHECK (length(ip) <= 100),
        method             text NOT NULL CHECK (length(method) <= 10),
        route              text NOT NULL CHECK (length(route) <= 300),
        action             text NOT NULL CHECK (length(action) <= 100),
        entity             text NOT NULL CHECK (length(entity) <= 50),
        entity_id          bigint NULL,
        http_request_id    text NULL CHECK (length(http_request_id) <= 128),
        status_code        smallint NULL,
        before             jsonb NULL,
        after              jsonb NULL,
        data               jsonb NULL
      )`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at)`);
    await q.query(`CREATE INDEX audit_log_actor_idx ON audit_log (actor_operator_id, id)`);
    await q.query(`CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id)`);
    await q.query(`CREATE INDEX audit_log_action_idx ON audit_log (action, id)`);
    await q.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('maildesk.audit_purge', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'only the retention job deletes old rows (AUDIT_RETENTION_DAYS)';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_log_append_only_rows BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_log_append_only_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
    await q.query(`DROP FUNCTION audit_log_append_only()`);
  }
}
