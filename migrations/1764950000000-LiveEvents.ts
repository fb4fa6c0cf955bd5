import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Live events (issue 21 item 4, src/events/): request_events is the event log that
 * GET /events/stream serves, across instances.
 *
 * - `maildesk_request_event_id()`, the new default of request_events.id: the inserting transaction
 *   takes its transaction id (pg_current_xact_id) BEFORE it takes the next id. Ids are handed out at
 *   insert but committed in any order, so a reader may see id 12 while 11 is still uncommitted;
 *   with this order, any id missing below a visible one belongs to a transaction that already had
 *   an xid older than the reader's snapshot xmax, and once a later snapshot's xmin passes that
 *   value, that transaction is over: the id is visible then, or never will be (rolled back). The
 *   reader (src/events/event-log-cursor.ts) delivers in id order without skipping a late commit
 *   and without waiting on a rolled-back id. Plain nextval() gave no such bound: a transaction's
 *   first write takes its xid after its defaults were computed.
 * - A statement-level AFTER INSERT trigger NOTIFYs `maildesk_events` once per transaction
 *   (PostgreSQL folds identical notifications of one transaction, hence the empty payload; they
 *   are delivered at commit only, never for a rollback). It fires only when rows were inserted
 *   (the SLA check's INSERT ... SELECT often inserts none). The listeners read the table; the
 *   notification only says "look".
 *
 * Both work on PostgreSQL 15 and on PGlite (18), where nobody LISTENs (one instance: it is woken
 * in process, src/requests/request-events-signal.ts).
 */
export class LiveEvents1764950000000 implements MigrationInterface {
  name = 'LiveEvents1764950000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION maildesk_request_event_id() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_current_xact_id();
        RETURN nextval('request_events_id_seq');
      END
      $$`);
    await q.query(`ALTER TABLE request_events ALTER COLUMN id SET DEFAULT maildesk_request_event_id()`);
    await q.query(`
      CREATE FUNCTION maildesk_request_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM inserted) THEN
          PERFORM pg_notify('maildesk_events', '');
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER request_events_notify AFTER INSERT ON request_events
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION maildesk_request_events_notify()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER request_events_notify ON request_events`);
    await q.query(`DROP FUNCTION maildesk_request_events_notify()`);
    await q.query(`ALTER TABLE request_events ALTER COLUMN id SET DEFAULT nextval('request_events_id_seq')`);
    await q.query(`DROP FUNCTION maildesk_request_event_id()`);
  }
}
