-- The SQL of src/health/health.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: ping
SELECT 1;
