-- The SQL of src/requests/participants.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: list
SELECT email, name FROM request_participants WHERE request_id = $1 ORDER BY created_at, email;

-- name: add
INSERT INTO request_participants (request_id, email, name, source, created_at)
SELECT $1, e.email, e.name, $4, clock_timestamp() + (e.i - 1) * interval '1 microsecond'
  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(email, name, i)
 WHERE NOT EXISTS (SELECT 1 FROM request_participants p WHERE p.request_id = $1 AND p.email = e.email)
   AND e.email <> (SELECT c.email FROM requests r JOIN customers c ON c.id = r.customer_id WHERE r.id = $1)
 ORDER BY e.i
 LIMIT GREATEST(0, $5::integer - (SELECT count(*) FROM request_participants WHERE request_id = $1))
ON CONFLICT (request_id, email) DO NOTHING
RETURNING email;

-- name: removeOthers
DELETE FROM request_participants WHERE request_id = $1 AND NOT (email = ANY ($2::text[])) RETURNING email;

-- name: rename
UPDATE request_participants SET name = $3 WHERE request_id = $1 AND email = $2 AND $3::text IS NOT NULL
AND name IS DISTINCT FROM $3;
