-- The SQL of src/inbound-mail/inbound-mail.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: claim
INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw_sha256, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'appended')
ON CONFLICT (dedupe_key) DO UPDATE SET status = 'appended', attempts = inbound_mail.attempts + 1,
  source = EXCLUDED.source, message_id = EXCLUDED.message_id, from_address = EXCLUDED.from_address,
  subject = EXCLUDED.subject, size = EXCLUDED.size, raw = NULL, raw_sha256 = EXCLUDED.raw_sha256
  WHERE inbound_mail.status = 'quarantined'
RETURNING id;

-- name: record
UPDATE inbound_mail SET status = $2, reason = $3, request_id = $4, message_row_id = $5, processed_at = clock_timestamp()
WHERE id = $1;

-- name: quarantine
INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw_sha256, status, reason, processed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'quarantined', $8, clock_timestamp())
ON CONFLICT (dedupe_key) DO UPDATE SET attempts = inbound_mail.attempts + 1, reason = EXCLUDED.reason,
  processed_at = EXCLUDED.processed_at
  WHERE inbound_mail.status = 'quarantined'
RETURNING id;

-- name: requestOf
SELECT request_id FROM inbound_mail WHERE dedupe_key = $1;

-- name: markReplayed
UPDATE inbound_mail SET status = 'replayed', processed_at = clock_timestamp() WHERE id = $1 AND status = 'quarantined';
