-- The SQL of src/operators/operators.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: activeIdentity
SELECT id, email, name, role, token_version FROM operators WHERE id = $1 AND active;

-- name: count
SELECT count(*)::int AS n FROM operators;

-- name: insertFirstAdmin
INSERT INTO operators (name, email, role, password_hash)
SELECT 'Administrator', $1, 'admin', $2 WHERE NOT EXISTS (SELECT 1 FROM operators)
ON CONFLICT (email) DO NOTHING RETURNING id;

-- name: lockForUpdate
SELECT id FROM operators WHERE id = $1 FOR UPDATE;
