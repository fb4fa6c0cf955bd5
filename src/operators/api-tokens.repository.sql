-- The SQL of src/operators/api-tokens.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: authenticate
SELECT t.id, t.token_hash, t.scope,
  t.last_used_at IS NULL OR t.last_used_at < now() - make_interval(secs => 60) AS stale,
  o.id AS operator_id, o.email, o.name, o.role,
  ARRAY(SELECT og.group_id FROM operator_groups og WHERE og.operator_id = o.id ORDER BY og.group_id) AS group_ids
FROM api_tokens t JOIN operators o ON o.id = t.operator_id
WHERE t.prefix = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
  AND o.active AND o.token_version = t.operator_token_version;

-- name: touch
UPDATE api_tokens SET last_used_at = now(), last_used_ip = $2
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => 60));

-- name: lockOperator
SELECT token_version FROM operators WHERE id = $1 AND active FOR UPDATE;

-- name: countLive
SELECT count(*)::int AS n FROM api_tokens
WHERE operator_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now());

-- name: insert
INSERT INTO api_tokens (operator_id, name, prefix, token_hash, scope, operator_token_version, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
RETURNING id, operator_id AS "operatorId", name, prefix, scope, expires_at AS "expiresAt",
last_used_at AS "lastUsedAt", last_used_ip AS "lastUsedIp", created_at AS "createdAt";

-- name: listOf
SELECT id, operator_id AS "operatorId", name, prefix, scope, expires_at AS "expiresAt",
last_used_at AS "lastUsedAt", last_used_ip AS "lastUsedIp", created_at AS "createdAt" FROM api_tokens WHERE operator_id = $1 AND revoked_at IS NULL ORDER BY id DESC;

-- name: findLive
SELECT id, operator_id AS "operatorId", name, prefix, scope, expires_at AS "expiresAt",
last_used_at AS "lastUsedAt", last_used_ip AS "lastUsedIp", created_at AS "createdAt" FROM api_tokens WHERE id = $1 AND revoked_at IS NULL;

-- name: revoke
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id;
