-- The SQL of src/requests/request-lifecycle.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: lockRequest
SELECT status, operator_id FROM requests WHERE id = $1 FOR UPDATE;

-- name: lockOperator
SELECT id FROM operators WHERE id = $1 FOR UPDATE;

-- name: countInProgress
SELECT count(*)::int AS n FROM requests WHERE operator_id = $1 AND status = 'in_progress';

-- name: transition
UPDATE requests SET status = $3, updated_at = clock_timestamp(),
       operator_id = COALESCE($4, operator_id),
       closed_at = CASE WHEN $3 = 'closed' THEN clock_timestamp() ELSE closed_at END
WHERE id = $1 AND status = $2 RETURNING id;

-- name: setAssignee
UPDATE requests SET operator_id = $2, status = CASE WHEN $2::integer IS NULL THEN 'new' ELSE status END,
       updated_at = clock_timestamp()
WHERE id = $1 AND status = 'in_progress' RETURNING id;
