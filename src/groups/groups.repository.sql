-- The SQL of src/groups/groups.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: list
SELECT id, name, assignment, reassign_when_unavailable FROM groups ORDER BY lower(name), id;

-- name: findById
SELECT id, name, assignment, reassign_when_unavailable FROM groups WHERE id = $1;

-- name: insert
INSERT INTO groups (name) VALUES ($1) ON CONFLICT ((lower(name))) DO NOTHING RETURNING id, name, assignment, reassign_when_unavailable;

-- name: rename
UPDATE groups SET name = $2
WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM groups o WHERE lower(o.name) = lower($2) AND o.id <> $1)
RETURNING id, name, assignment, reassign_when_unavailable;

-- name: setAssignment
UPDATE groups SET assignment = COALESCE($2, assignment),
       reassign_when_unavailable = COALESCE($3, reassign_when_unavailable)
WHERE id = $1 RETURNING id, name, assignment, reassign_when_unavailable;

-- name: deleteUnused
DELETE FROM groups g WHERE g.id = $1
AND NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.group_id = g.id)
AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.group_id = g.id)
RETURNING id;
