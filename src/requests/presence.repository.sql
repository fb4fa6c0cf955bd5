-- The SQL of src/requests/presence.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: upsert
INSERT INTO request_presence (request_id, operator_id, state, since, expires_at, updated_at)
   VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp() + make_interval(secs => $4::integer), clock_timestamp())
ON CONFLICT (request_id, operator_id) DO UPDATE
   SET state = EXCLUDED.state, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at,
       since = CASE WHEN request_presence.state = EXCLUDED.state AND request_presence.expires_at > clock_timestamp()
                    THEN request_presence.since ELSE EXCLUDED.since END;

-- name: remove
DELETE FROM request_presence WHERE request_id = $1 AND operator_id = $2;

-- name: listLive
SELECT p.operator_id, o.name AS operator_name, p.state, p.since, p.expires_at
 FROM request_presence p JOIN operators o ON o.id = p.operator_id
WHERE p.request_id = $1 AND p.expires_at > clock_timestamp()
ORDER BY p.since, p.operator_id;

-- name: purgeExpired
DELETE FROM request_presence WHERE (request_id, operator_id) IN (
SELECT request_id, operator_id FROM request_presence WHERE expires_at <= clock_timestamp()
 ORDER BY expires_at LIMIT $1);
