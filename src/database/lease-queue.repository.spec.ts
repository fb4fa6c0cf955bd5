import { leaseStatements } from './lease-queue.repository';

/** The text with its runs of white space as one space, as PostgreSQL reads it. */
const flat = (sql: string) => sql.replace(/\s+/g, ' ').trim();

describe('leaseStatements', () => {
  const outbox = leaseStatements({
    table: 'outbox',
    doneStatus: 'sent',
    doneAt: 'sent_at',
    afterDone: 'UPDATE messages m SET sent_at = now() FROM done WHERE m.id = done.message_id',
  });
  const deliveries = leaseStatements({
    table: 'webhook_deliveries',
    doneStatus: 'delivered',
    doneAt: 'delivered_at',
    outcomeColumns: ['last_status_code'],
    claimed: 'SELECT c.*, w.url FROM claimed c JOIN webhooks w ON w.id = c.webhook_id',
  });

  it('claims due, unleased rows of its table with SKIP LOCKED, leases them and counts the attempt', () => {
    expect(flat(outbox.claim)).toBe(
      "WITH claimed AS ( UPDATE outbox SET locked_until = now() + interval '2 minutes', attempts = attempts + 1 " +
        'WHERE id IN (SELECT id FROM outbox ' +
        "WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now()) " +
        'ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING *) ' +
        'SELECT * FROM claimed ORDER BY next_attempt_at, id',
    );
    expect(flat(deliveries.claim)).toMatch(
      /^WITH claimed AS \( UPDATE webhook_deliveries .* FROM webhook_deliveries .* RETURNING \*\) SELECT c\.\*, w\.url FROM claimed c JOIN webhooks w/,
    );
  });

  it('marks a row done with its own status and stamp, then runs what follows it', () => {
    expect(flat(outbox.done)).toBe(
      "WITH done AS (UPDATE outbox SET status = 'sent', sent_at = now(), locked_until = NULL, last_error = NULL " +
        'WHERE id = $1 RETURNING *) UPDATE messages m SET sent_at = now() FROM done WHERE m.id = done.message_id',
    );
    expect(flat(deliveries.done)).toBe(
      "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), locked_until = NULL, last_error = NULL, " +
        'last_status_code = $2 WHERE id = $1',
    );
  });

  it('numbers the outcome columns after the parameters of each statement', () => {
    expect(flat(outbox.failed)).toBe(
      "UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1",
    );
    expect(flat(deliveries.failed)).toBe(
      "UPDATE webhook_deliveries SET status = 'failed', locked_until = NULL, last_error = $2, last_status_code = $3 WHERE id = $1",
    );
    expect(flat(outbox.retry)).toBe(
      "UPDATE outbox SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL, last_error = $3 WHERE id = $1",
    );
    expect(flat(deliveries.retry)).toBe(
      "UPDATE webhook_deliveries SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL, " +
        'last_error = $3, last_status_code = $4 WHERE id = $1',
    );
  });

  it('leaves no template name unfilled', () => {
    for (const text of [...Object.values(outbox), ...Object.values(deliveries)]) expect(text).not.toMatch(/\{\w+\}/);
  });
});
