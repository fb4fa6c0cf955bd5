-- The SQL of src/blobs/blobs.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: touch
INSERT INTO blobs (sha256, size)
SELECT h, s FROM unnest($1::text[], $2::bigint[]) AS t(h, s) ORDER BY h
ON CONFLICT (sha256) DO UPDATE SET touched_at = clock_timestamp();

-- name: sweep
DELETE FROM blobs WHERE sha256 IN (
  SELECT b.sha256 FROM blobs b
  WHERE b.touched_at < clock_timestamp() - make_interval(secs => $1::double precision)
    AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = b.sha256)
    AND NOT EXISTS (SELECT 1 FROM inbound_mail m WHERE m.raw_sha256 = b.sha256)
  ORDER BY b.touched_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)
RETURNING sha256;

-- name: deleteUnreferenced
DELETE FROM blobs WHERE sha256 IN (
  SELECT b.sha256 FROM blobs b
  WHERE b.sha256 = ANY($1::text[])
    AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = b.sha256)
    AND NOT EXISTS (SELECT 1 FROM inbound_mail m WHERE m.raw_sha256 = b.sha256)
  FOR UPDATE SKIP LOCKED)
RETURNING sha256;

-- name: expireRaw
WITH old AS (
  SELECT id, raw_sha256 FROM inbound_mail
  WHERE status <> 'quarantined' AND raw_expired_at IS NULL
    AND received_at < clock_timestamp() - make_interval(days => $1::int)
  ORDER BY received_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)
UPDATE inbound_mail m SET raw = NULL, raw_sha256 = NULL, raw_expired_at = clock_timestamp()
FROM old WHERE m.id = old.id
RETURNING old.raw_sha256;

-- name: deleteQuarantined
DELETE FROM inbound_mail WHERE id IN (
  SELECT id FROM inbound_mail
  WHERE status = 'quarantined' AND received_at < clock_timestamp() - make_interval(days => $1::int)
  ORDER BY id
  LIMIT $2
  FOR UPDATE SKIP LOCKED)
RETURNING raw_sha256;

-- name: pendingAttachments
SELECT id, sha256, content FROM attachments WHERE content IS NOT NULL AND id > $1 ORDER BY id LIMIT $2;

-- name: pendingRaw
SELECT id, raw FROM inbound_mail WHERE raw IS NOT NULL AND id > $1 ORDER BY id LIMIT $2;

-- name: countPending
SELECT (SELECT count(*) FROM attachments WHERE content IS NOT NULL)::bigint AS attachments,
(SELECT count(*) FROM inbound_mail WHERE raw IS NOT NULL)::bigint AS raw;

-- name: movedAttachment
UPDATE attachments SET content = NULL WHERE id = $1 AND sha256 = $2 AND content IS NOT NULL;

-- name: movedRaw
UPDATE inbound_mail SET raw = NULL, raw_sha256 = $2 WHERE id = $1 AND raw IS NOT NULL;
