-- The SQL of src/requests/auto-assignment.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: enabledGroups
SELECT id FROM groups WHERE assignment <> 'off' ORDER BY id;

-- name: lockGroup
SELECT assignment, last_assigned_operator_id FROM groups WHERE id = $1 FOR UPDATE;

-- name: lockDefault
SELECT last_assigned_operator_id FROM auto_assignment_default FOR UPDATE;

-- name: lockCandidates
SELECT o.id FROM operators o
WHERE o.active AND o.available
  AND CASE WHEN $1::integer IS NULL
           THEN NOT EXISTS (SELECT 1 FROM operator_groups og WHERE og.operator_id = o.id)
           ELSE EXISTS (SELECT 1 FROM operator_groups og WHERE og.operator_id = o.id AND og.group_id = $1)
      END
ORDER BY o.id FOR UPDATE OF o;

-- name: candidateLoads
SELECT o.id, o.name, o.capacity, o.last_auto_assigned_at,
  (SELECT count(*)::int FROM requests r WHERE r.operator_id = o.id AND r.status = 'in_progress') AS load
FROM operators o WHERE o.id = ANY ($1::integer[]) ORDER BY o.id;

-- name: claimUnassigned
SELECT r.id, r.subject,
  EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.type IN ('assigned', 'reassigned', 'unassigned'))
    AS assigned_before
FROM requests r
WHERE COALESCE(r.group_id, 0) = COALESCE($1::integer, 0) AND r.status = 'new' AND r.operator_id IS NULL
ORDER BY r.id LIMIT $2
FOR UPDATE OF r SKIP LOCKED;

-- name: saveGroupPointer
UPDATE groups SET last_assigned_operator_id = $2 WHERE id = $1;

-- name: saveDefaultPointer
UPDATE auto_assignment_default SET last_assigned_operator_id = $1;

-- name: markAutoAssigned
UPDATE operators SET last_auto_assigned_at = clock_timestamp() WHERE id = $1;

-- name: releasable
SELECT r.id FROM requests r LEFT JOIN groups g ON g.id = r.group_id
WHERE r.operator_id = $1 AND r.status = 'in_progress'
  AND (g.reassign_when_unavailable OR (r.group_id IS NULL AND $2::boolean))
ORDER BY r.id
FOR UPDATE OF r;
