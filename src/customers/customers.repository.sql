-- The SQL of src/customers/customers.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: search
SELECT c.id, c.email, c.name, c.blocked, c.locale, c.created_at,
     (SELECT count(*)::int FROM requests r WHERE r.customer_id = c.id) AS request_count
FROM customers c WHERE c.email ILIKE '%' || $1 || '%' OR c.name ILIKE '%' || $1 || '%' ORDER BY c.email, c.id OFFSET $2 LIMIT $3;

-- name: countMatching
SELECT count(*)::int AS n FROM customers c WHERE c.email ILIKE '%' || $1 || '%' OR c.name ILIKE '%' || $1 || '%';

-- name: list
SELECT c.id, c.email, c.name, c.blocked, c.locale, c.created_at,
     (SELECT count(*)::int FROM requests r WHERE r.customer_id = c.id) AS request_count
FROM customers c WHERE $1::text IS NULL ORDER BY c.email, c.id OFFSET $2 LIMIT $3;

-- name: countAll
SELECT count(*)::int AS n FROM customers c WHERE $1::text IS NULL;

-- name: findById
SELECT c.id, c.email, c.name, c.blocked, c.locale, c.created_at,
     (SELECT count(*)::int FROM requests r WHERE r.customer_id = c.id) AS request_count
FROM customers c WHERE c.id = $1;

-- name: requestsOf
SELECT id, status, subject, created_at, group_id FROM requests WHERE customer_id = $1 ORDER BY id DESC;

-- name: requestCountsInGroups
SELECT customer_id, count(*)::int AS n FROM requests
WHERE customer_id = ANY ($1::integer[]) AND group_id = ANY ($2::integer[]) GROUP BY customer_id;

-- name: update
UPDATE customers SET name = CASE WHEN $2 THEN $3 ELSE name END, blocked = coalesce($4, blocked),
locale = CASE WHEN $5 THEN $6 ELSE locale END, updated_at = now() WHERE id = $1;
