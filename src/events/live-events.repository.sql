-- The SQL of src/events/live-events.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: announce
SELECT pg_notify('maildesk_events', '');

-- name: latestId
SELECT COALESCE(max(id), 0)::text AS id FROM request_events;

-- name: readAfter
WITH snap AS (SELECT pg_current_snapshot() AS s)
SELECT pg_snapshot_xmin(snap.s)::text AS xmin, pg_snapshot_xmax(snap.s)::text AS xmax, e.*
  FROM snap LEFT JOIN LATERAL (
    SELECT ev.id::text AS id, ev.request_id, ev.type, ev.actor, ev.operator_id, ev.data, ev.created_at,
     r.group_id, r.status
      FROM request_events ev JOIN requests r ON r.id = ev.request_id
     WHERE ev.id > $1::bigint
     ORDER BY ev.id LIMIT 500) e ON true
 ORDER BY e.id::bigint;

-- name: replay
SELECT ev.id::text AS id, ev.request_id, ev.type, ev.actor, ev.operator_id, ev.data, ev.created_at,
    r.group_id, r.status
 FROM request_events ev JOIN requests r ON r.id = ev.request_id
WHERE ev.id > $1::bigint AND ev.id <= $2::bigint AND ($3::integer[] IS NULL OR r.group_id = ANY ($3::integer[]))
ORDER BY ev.id LIMIT 500;
