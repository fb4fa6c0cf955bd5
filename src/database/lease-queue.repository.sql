-- The SQL of src/database/lease-queue.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: claim
WITH claimed AS (
  UPDATE {table} SET locked_until = now() + interval '2 minutes', attempts = attempts + 1
   WHERE id IN (SELECT id FROM {table}
                 WHERE status = 'pending' AND next_attempt_at <= now()
                   AND (locked_until IS NULL OR locked_until < now())
                 ORDER BY next_attempt_at, id
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
   RETURNING *)
{claimed};

-- name: claimed
SELECT * FROM claimed ORDER BY next_attempt_at, id;

-- name: done
UPDATE {table} SET status = '{doneStatus}', {doneAt} = now(), locked_until = NULL, last_error = NULL{outcome}
WHERE id = $1;

-- name: doneThen
WITH done AS ({done} RETURNING *) {afterDone};

-- name: failed
UPDATE {table} SET status = 'failed', locked_until = NULL, last_error = $2{outcome} WHERE id = $1;

-- name: retry
UPDATE {table} SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL, last_error = $3{outcome}
WHERE id = $1;

-- name: release
UPDATE {table} SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL,
  attempts = greatest(attempts - 1, 0), last_error = $3
WHERE id = $1;

-- name: outcome
, {column} = {param};
