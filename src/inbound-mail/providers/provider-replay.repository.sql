-- The SQL of src/inbound-mail/providers/provider-replay.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: claim
WITH fresh AS (
  INSERT INTO provider_replay_tokens (provider, token, body_sha256) VALUES ($1, $2, $3)
  ON CONFLICT (provider, token) DO NOTHING
  RETURNING body_sha256, done, true AS fresh
)
SELECT body_sha256, done, fresh FROM fresh
UNION ALL
SELECT body_sha256, done, false AS fresh FROM provider_replay_tokens
 WHERE provider = $1 AND token = $2 AND NOT EXISTS (SELECT 1 FROM fresh);

-- name: complete
UPDATE provider_replay_tokens SET done = true WHERE provider = $1 AND token = $2;

-- name: prune
DELETE FROM provider_replay_tokens WHERE seen_at < now() - make_interval(secs => $1);
