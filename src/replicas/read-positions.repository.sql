-- The SQL of src/replicas/read-positions.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: record
INSERT INTO replica_read_positions (operator_id, lsn) VALUES ($1, pg_current_wal_lsn())
ON CONFLICT (operator_id) DO UPDATE SET lsn = GREATEST(replica_read_positions.lsn, EXCLUDED.lsn);

-- name: positionOf
SELECT lsn::text AS lsn FROM replica_read_positions WHERE operator_id = $1;

-- name: primaryPosition
SELECT pg_current_wal_lsn()::text AS lsn;

-- name: standby
SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn;
