-- The SQL of src/operators/operators.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: activeIdentity
SELECT o.id, o.email, o.name, o.role, o.token_version,
  ARRAY(SELECT og.group_id FROM operator_groups og WHERE og.operator_id = o.id ORDER BY og.group_id) AS group_ids
FROM operators o WHERE o.id = $1 AND o.active;

-- name: groupsOf
SELECT operator_id, group_id FROM operator_groups WHERE operator_id = ANY ($1::integer[]) ORDER BY operator_id, group_id;

-- name: deleteGroups
DELETE FROM operator_groups WHERE operator_id = $1;

-- name: insertGroups
INSERT INTO operator_groups (operator_id, group_id)
SELECT $1, g.id FROM groups g WHERE g.id = ANY ($2::integer[])
RETURNING group_id;

-- name: count
SELECT count(*)::int AS n FROM operators;

-- name: insertFirstAdmin
INSERT INTO operators (name, email, role, password_hash)
SELECT 'Administrator', $1, 'admin', $2 WHERE NOT EXISTS (SELECT 1 FROM operators)
ON CONFLICT (email) DO NOTHING RETURNING id;

-- name: lockForUpdate
SELECT id, capacity FROM operators WHERE id = $1 FOR UPDATE;

-- name: setAvailable
UPDATE operators o SET available = $2, updated_at = clock_timestamp()
FROM (SELECT id, available FROM operators WHERE id = $1 FOR UPDATE) old
WHERE o.id = old.id RETURNING old.available AS was;

-- name: loads
SELECT operator_id, count(*)::int AS n FROM requests
WHERE status = 'in_progress' AND operator_id IS NOT NULL GROUP BY operator_id;
