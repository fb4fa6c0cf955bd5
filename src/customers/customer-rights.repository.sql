-- The SQL of src/customers/customer-rights.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: customer
SELECT id, email, name, blocked, locale, created_at, updated_at FROM customers WHERE id = $1;

-- name: requests
SELECT to_jsonb(r) - ARRAY['search_vector', 'last_seq', 'priority_rank'] AS request
FROM requests r WHERE r.customer_id = $1 ORDER BY r.id;

-- name: participants
SELECT email, name, source, created_at FROM request_participants WHERE request_id = $1 ORDER BY email;

-- name: events
SELECT id, type, actor, operator_id, data, created_at FROM request_events WHERE request_id = $1 ORDER BY id;

-- name: messageIds
SELECT id, request_id, seq FROM messages
WHERE request_id = ANY ($1::int[]) OR lower(from_address) = $2 ORDER BY request_id, seq;

-- name: message
SELECT id, request_id, seq, direction, kind, operator_id, from_address, from_name, sender_source,
     to_addresses, cc_addresses, bcc_addresses, subject, text, visible_text, html, message_id, in_reply_to,
     "references", side_thread_id, created_at, sent_at
FROM messages WHERE id = $1;

-- name: attachmentsOf
SELECT id, message_id, filename, content_type, size, sha256, content_id, created_at
FROM attachments WHERE message_id = ANY ($1::int[]) ORDER BY message_id, id;

-- name: inboundOf
SELECT id, source, message_id, from_address, subject, size, status, reason, request_id, message_row_id,
     received_at, processed_at
FROM inbound_mail WHERE (request_id = ANY ($1::int[]) OR message_row_id = ANY ($2::int[]) OR lower(from_address) = $3) ORDER BY id;

-- name: outboxOf
SELECT id, message_id, kind, to_address, from_address, cc_addresses, subject, headers, text, html, status,
     attempts, last_error, sent_at, created_at
FROM outbox WHERE lower(to_address) = $1 ORDER BY id;

-- name: lockCustomer
SELECT id, email FROM customers WHERE id = $1 FOR UPDATE;

-- name: lockRequests
SELECT id FROM requests WHERE customer_id = $1 ORDER BY id FOR UPDATE;

-- name: doomedMessages
SELECT id, request_id FROM messages WHERE request_id = ANY ($1::int[]) OR lower(from_address) = $2;

-- name: attachmentHashes
SELECT sha256 FROM attachments WHERE message_id = ANY ($1::int[]);

-- name: rawMailHashes
SELECT raw_sha256 AS sha256 FROM inbound_mail WHERE raw_sha256 IS NOT NULL AND ((request_id = ANY ($1::int[]) OR message_row_id = ANY ($2::int[]) OR lower(from_address) = $3));

-- name: deleteInbound
WITH gone AS (DELETE FROM inbound_mail WHERE (request_id = ANY ($1::int[]) OR message_row_id = ANY ($2::int[]) OR lower(from_address) = $3) RETURNING 1)
SELECT count(*)::int AS n FROM gone;

-- name: deleteOutbox
WITH gone AS (DELETE FROM outbox WHERE message_id = ANY ($1::int[]) OR lower(to_address) = $2
  RETURNING status)
SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'pending')::int AS pending FROM gone;

-- name: scrubOutboxCopies
UPDATE outbox SET cc_addresses = array_remove(cc_addresses, $1), bcc_addresses = array_remove(bcc_addresses, $1)
WHERE $1 = ANY (cc_addresses) OR $1 = ANY (bcc_addresses);

-- name: deleteDeliveries
WITH gone AS (DELETE FROM webhook_deliveries
  WHERE payload->'data'->>'requestId' = ANY ($1::text[]) OR payload->'data'->>'messageId' = ANY ($2::text[])
  RETURNING 1)
SELECT count(*)::int AS n FROM gone;

-- name: scrubDeliveries
UPDATE webhook_deliveries SET payload = replace(payload::text, $1, 'erased')::jsonb
WHERE strpos(lower(payload::text), $1) > 0;

-- name: scrubEvents
UPDATE request_events SET data = replace(data::text, $1, 'erased')::jsonb
WHERE request_id <> ALL ($2::int[]) AND strpos(lower(data::text), $1) > 0;

-- name: deleteParticipantEntries
WITH gone AS (DELETE FROM request_participants WHERE email = $1 AND request_id <> ALL ($2::int[])
  RETURNING 1)
SELECT count(*)::int AS n FROM gone;

-- name: scrubSideThreads
UPDATE side_threads SET addresses = array_remove(addresses, $1) WHERE $1 = ANY (addresses)
AND request_id <> ALL ($2::int[]) AND cardinality(addresses) > 1;

-- name: scrubRecipients
UPDATE messages SET to_addresses = array_remove(to_addresses, $1), cc_addresses = array_remove(cc_addresses, $1),
  bcc_addresses = array_remove(bcc_addresses, $1)
WHERE ($1 = ANY (to_addresses) OR $1 = ANY (cc_addresses) OR $1 = ANY (bcc_addresses)) AND request_id <> ALL ($2::int[]);

-- name: unlinkOthers
UPDATE requests SET merged_into_id = CASE WHEN merged_into_id = ANY ($1::int[]) THEN NULL ELSE merged_into_id END,
  previous_request_id = CASE WHEN previous_request_id = ANY ($1::int[]) THEN NULL ELSE previous_request_id END,
  split_from_id = CASE WHEN split_from_id = ANY ($1::int[]) THEN NULL ELSE split_from_id END
WHERE id <> ALL ($1::int[])
  AND (merged_into_id = ANY ($1::int[]) OR previous_request_id = ANY ($1::int[]) OR split_from_id = ANY ($1::int[]));

-- name: lockOtherRequest
SELECT id FROM requests WHERE id = $1 FOR UPDATE;

-- name: deleteMessages
DELETE FROM messages WHERE id = ANY ($1::int[]);

-- name: keepShells
INSERT INTO erased_requests (id, status, priority, operator_id, group_id, created_at, first_response_at,
     first_response_due_at, resolution_due_at, closed_at, satisfaction_rating)
SELECT id, status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
       resolution_due_at, closed_at, satisfaction_rating
  FROM requests WHERE id = ANY ($1::int[])
ON CONFLICT (id) DO NOTHING;

-- name: deleteRequests
DELETE FROM requests WHERE id = ANY ($1::int[]);

-- name: deleteCustomer
DELETE FROM customers WHERE id = $1;
