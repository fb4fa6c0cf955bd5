-- The SQL of src/webhooks/webhooks.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: insertDeliveries
INSERT INTO webhook_deliveries (webhook_id, event, payload)
SELECT w.id, e.event, jsonb_build_object('event', e.event, 'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', e.data)
  FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS e(event, data, n)
  JOIN webhooks w ON e.event = ANY (w.events)
 ORDER BY e.n, w.id
RETURNING id;

-- name: insert
INSERT INTO webhooks (url, events, secret, description, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *;

-- name: list
SELECT w.*, d.status AS last_status, coalesce(d.delivered_at, d.created_at) AS last_at, d.last_status_code AS last_code
FROM webhooks w
LEFT JOIN LATERAL (SELECT * FROM webhook_deliveries x WHERE x.webhook_id = w.id ORDER BY x.id DESC LIMIT 1) d ON true
ORDER BY w.id;

-- name: delete
DELETE FROM webhooks WHERE id = $1;

-- name: exists
SELECT 1 FROM webhooks WHERE id = $1;

-- name: deliveriesPage
SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC OFFSET $2 LIMIT $3;

-- name: deliveriesCount
SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1;

-- name: claimedWithTarget
SELECT c.*, w.url, w.secret FROM claimed c JOIN webhooks w ON w.id = c.webhook_id ORDER BY c.next_attempt_at, c.id;
