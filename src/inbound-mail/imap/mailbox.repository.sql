-- The SQL of src/inbound-mail/imap/mailbox.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: readCursor
SELECT uid_validity, last_uid, last_success_at, last_error, last_error_at FROM mailbox_cursors WHERE mailbox = $1;

-- name: createCursor
INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid) VALUES ($1, $2, 0) ON CONFLICT (mailbox) DO NOTHING;

-- name: resetCursor
UPDATE mailbox_cursors SET uid_validity = $2, last_uid = 0, updated_at = now() WHERE mailbox = $1;

-- name: advanceCursor
UPDATE mailbox_cursors SET last_uid = $3, updated_at = now() WHERE mailbox = $1 AND uid_validity = $2 AND last_uid < $3;

-- name: recordSuccess
UPDATE mailbox_cursors SET last_success_at = $2, updated_at = now() WHERE mailbox = $1;

-- name: recordError
INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid, last_error, last_error_at) VALUES ($1, 0, 0, $2, $3)
ON CONFLICT (mailbox) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at, updated_at = now();

-- name: tryLeaderLock
SELECT pg_try_advisory_lock(hashtext($1)) AS locked;

-- name: confirmLeaderLock
SELECT 1;

-- name: releaseLeaderLock
SELECT pg_advisory_unlock(hashtext($1));

-- name: tryInstanceLock
SELECT pg_try_advisory_lock($1::int, $2::int) AS locked;

-- name: countInstances
SELECT count(*)::int AS n FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::int::oid
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database());
