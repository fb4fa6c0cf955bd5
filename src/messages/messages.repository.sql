-- The SQL of src/messages/messages.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: append
WITH s AS (UPDATE requests SET last_seq = last_seq + 1, updated_at = clock_timestamp(),
  last_message_at = CASE WHEN $2 = 'in' OR last_message_at IS NULL THEN clock_timestamp() ELSE last_message_at END,
  first_response_at = CASE WHEN $3::boolean AND first_response_at IS NULL THEN clock_timestamp() ELSE first_response_at END,
  search_vector = CASE WHEN $4 = '' THEN search_vector ELSE search_vector || strip(to_tsvector('simple', left($4, 10000))) END
WHERE id = $1 RETURNING last_seq)
INSERT INTO messages (request_id, seq, direction, kind, operator_id, from_address, from_name, to_addresses,
                      cc_addresses, subject, text, html, message_id, in_reply_to, "references", created_at,
                      sender_source, bcc_addresses, visible_text, safe_html, side_thread_id)
SELECT $1, s.last_seq, $2, $5::text, $6::int, $7::text, $8::text, $9::text[], $10::text[], $11::text, $12::text,
       $13::text, $14::text, $15::text, $16::text[], clock_timestamp(), $17::text, $18::text[], $19::text,
       $20::text, $21::int FROM s
RETURNING id, seq, created_at;

-- name: lockRequest
SELECT id FROM requests WHERE id = $1 FOR UPDATE;

-- name: seqInRequest
SELECT seq FROM messages WHERE id = $2 AND request_id = $1;

-- name: writtenSince
SELECT id, seq, kind, operator_id, from_address, from_name, created_at, count(*) OVER () AS total
 FROM messages
WHERE request_id = $1 AND seq > $2 AND kind <> 'auto_reply' AND operator_id IS DISTINCT FROM $3
ORDER BY seq LIMIT $4;

-- name: insertAttachment
INSERT INTO attachments (message_id, filename, content_type, size, sha256, content_id)
VALUES ($1,$2,$3,$4,$5,$6);

-- name: attachmentGroup
SELECT r.group_id FROM attachments a JOIN messages m ON m.id = a.message_id
JOIN requests r ON r.id = m.request_id WHERE a.id = $1;

-- name: requestIdsForMessageIds
SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1);

-- name: requestIdsForOwnMessageIds
SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1) AND direction = 'out';

-- name: latestInbound
SELECT message_id, "references" FROM messages WHERE request_id = $1 AND direction = 'in' AND kind <> 'side'
ORDER BY seq DESC LIMIT 1;

-- name: conversationPage
WITH cut AS (
  SELECT id, request_id, seq, direction, kind, operator_id, from_address, from_name, sender_source, to_addresses,
         cc_addresses, bcc_addresses, subject, message_id, in_reply_to, "references", created_at, sent_at,
         side_thread_id, substr(text, 1, $4) AS text,
         CASE WHEN safe_html IS NULL THEN substr(html, 1, $4) END AS html,
         substr(safe_html, 1, $4) AS safe_html, substr(visible_text, 1, $4) AS visible_text,
         substr(text, $4 + 1, 1) <> '' OR coalesce(substr(coalesce(safe_html, html), $4 + 1, 1) <> '', false) AS truncated
    FROM messages WHERE request_id = $1 AND seq > $2 ORDER BY seq LIMIT $3 + 1),
sized AS (
  SELECT cut.*, sum(octet_length(text) + coalesce(octet_length(html), 0) + coalesce(octet_length(safe_html), 0)
                    + coalesce(octet_length(visible_text), 0)) OVER (ORDER BY seq) AS running,
         row_number() OVER (ORDER BY seq) AS n, count(*) OVER () AS fetched
    FROM cut)
SELECT * FROM sized WHERE n <= $3 AND (n = 1 OR running <= $5) ORDER BY seq;
