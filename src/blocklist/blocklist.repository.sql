-- The SQL of src/blocklist/blocklist.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: list
SELECT * FROM blocklist ORDER BY id;

-- name: insert
INSERT INTO blocklist (pattern, reason, created_by) VALUES ($1, $2, $3)
ON CONFLICT (pattern) DO NOTHING RETURNING *;

-- name: delete
DELETE FROM blocklist WHERE id = $1;

-- name: longestMatch
SELECT * FROM blocklist WHERE pattern = ANY ($1) ORDER BY length(pattern) DESC LIMIT 1;
