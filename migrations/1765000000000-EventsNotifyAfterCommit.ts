import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 23: the NOTIFY of new request events leaves the writing transactions. The trigger of
 * LiveEvents1764950000000 made every transaction that wrote an event (every ingested mail) NOTIFY
 * at its commit, and PostgreSQL serializes the commits of notifying transactions (one lock on the
 * notification queue, held through the commit's WAL flush): they could no longer share a flush,
 * and the ingest's COMMIT took half its time waiting for the one before it (bench/results/history.md,
 * "Performance, second round: ingest"). The app now NOTIFYs after its own commits, outside them
 * (LiveEventsService.announce: one statement at a time, the commits meanwhile folded into the
 * next), which writes no WAL and waits for no flush.
 */
export class EventsNotifyAfterCommit1765000000000 implements MigrationInterface {
  name = 'EventsNotifyAfterCommit1765000000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS request_events_notify ON request_events`);
    await q.query(`DROP FUNCTION IF EXISTS maildesk_request_events_notify()`);
  }

  public async down(q: QueryRunner): Promise<void> {
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
}
