-- The SQL of src/saved-replies/saved-replies.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: list
SELECT id, name, text, group_id AS "groupId", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt" FROM saved_replies
WHERE ($1::integer[] IS NULL OR group_id IS NULL OR group_id = ANY ($1::integer[]))
  AND ($2::integer IS NULL OR group_id = $2::integer)
ORDER BY lower(name), id;

-- name: findById
SELECT id, name, text, group_id AS "groupId", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt" FROM saved_replies WHERE id = $1;

-- name: groupExists
SELECT 1 FROM groups WHERE id = $1;

-- name: insert
INSERT INTO saved_replies (name, text, group_id, created_by) VALUES ($1, $2, $3, $4)
ON CONFLICT ((lower(name)), (coalesce(group_id, 0))) DO NOTHING
RETURNING id, name, text, group_id AS "groupId", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt";

-- name: update
UPDATE saved_replies r SET name = coalesce($2, r.name), text = coalesce($3, r.text), updated_at = now()
WHERE r.id = $1 AND NOT EXISTS (
  SELECT 1 FROM saved_replies o WHERE o.id <> r.id AND lower(o.name) = lower(coalesce($2, r.name))
    AND coalesce(o.group_id, 0) = coalesce(r.group_id, 0))
RETURNING id, name, text, group_id AS "groupId", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt";

-- name: remove
DELETE FROM saved_replies WHERE id = $1 RETURNING id;

-- name: signatureOf
SELECT signature FROM operators WHERE id = $1;
