-- The SQL of src/outbound-mail/outbox.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: insert
INSERT INTO outbox (message_id, kind, to_address, from_address, subject, headers, text, html, mailbox_id,
                  cc_addresses, bcc_addresses, attachment_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *;

-- name: senderOf
SELECT id, is_default, address, name, signature, state FROM mailboxes WHERE id = $1;

-- name: defaultSender
SELECT id, is_default, address, name, signature, state FROM mailboxes WHERE is_default;

-- name: wakeMailboxes
UPDATE outbox SET next_attempt_at = now()
WHERE status = 'pending' AND next_attempt_at > now()
  AND (mailbox_id = ANY ($1::int[]) OR ($2 AND mailbox_id IS NULL));

-- name: countAutoRepliesSince
SELECT count(*)::int AS n FROM outbox WHERE to_address = $1 AND created_at >= $2 AND kind = 'auto_reply';

-- name: deliveryOf
SELECT message_id, status, attempts, last_error, sent_at FROM outbox WHERE message_id = ANY ($1) ORDER BY id;

-- name: page
SELECT * FROM outbox WHERE status = $1 ORDER BY id DESC OFFSET $2 LIMIT $3;

-- name: count
SELECT count(*)::int AS n FROM outbox WHERE status = $1;

-- name: findById
SELECT * FROM outbox WHERE id = $1;

-- name: requeueFailed
WITH r AS (
  UPDATE outbox SET status = 'pending', next_attempt_at = now(), locked_until = NULL
   WHERE id = $1 AND status = 'failed' RETURNING *)
SELECT * FROM r;

-- name: backlog
SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
  count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now())::int AS due,
  count(*) FILTER (WHERE status = 'failed')::int AS failed,
  min(next_attempt_at) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()) AS oldest
FROM outbox WHERE status <> 'sent';

-- name: attachmentsOf
SELECT filename, content_type, content_id, sha256, content FROM attachments WHERE message_id = $1 ORDER BY id;

-- name: attachmentsByIds
SELECT a.filename, a.content_type, a.content_id, a.sha256, a.content
FROM unnest($1::int[]) WITH ORDINALITY AS w(id, n) JOIN attachments a ON a.id = w.id ORDER BY w.n;

-- name: messageSent
UPDATE messages m SET sent_at = now() FROM done WHERE m.id = done.message_id AND m.sent_at IS NULL;
