-- The SQL of src/requests/request-merge.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: lockRequests
SELECT id, status, merged_into_id, customer_id, group_id FROM requests
WHERE id = ANY ($1::int[]) ORDER BY id FOR UPDATE;

-- name: deferConversationNumbers
SET CONSTRAINTS messages_request_seq_key DEFERRED;

-- name: mergeMessages
WITH ordered AS (
  SELECT id, request_id AS was, row_number() OVER (ORDER BY created_at, id)::int AS n
    FROM messages WHERE request_id IN ($1, $2))
UPDATE messages m SET request_id = $2, seq = o.n FROM ordered o WHERE m.id = o.id
RETURNING m.id, o.was;

-- name: mergeEvents
UPDATE request_events SET request_id = $2 WHERE request_id = $1;

-- name: mergeSideThreads
UPDATE side_threads SET request_id = $2 WHERE request_id = $1;

-- name: mergeInboundMail
UPDATE inbound_mail SET request_id = $2 WHERE request_id = $1;

-- name: mergeParticipants
INSERT INTO request_participants (request_id, email, name, source)
SELECT $2, p.email, p.name, 'merge' FROM (
    SELECT email, name FROM request_participants WHERE request_id = $1
    UNION ALL
    SELECT c.email, left(c.name, 200) FROM requests s JOIN customers c ON c.id = s.customer_id WHERE s.id = $1) p
 WHERE length(p.email) BETWEEN 3 AND 320
   AND p.email <> (SELECT c.email FROM requests t JOIN customers c ON c.id = t.customer_id WHERE t.id = $2)
ON CONFLICT (request_id, email) DO NOTHING;

-- name: mergeTarget
UPDATE requests t SET last_seq = $3, search_vector = t.search_vector || s.search_vector,
  last_message_at = GREATEST(t.last_message_at, s.last_message_at), updated_at = clock_timestamp()
FROM requests s WHERE t.id = $2 AND s.id = $1;

-- name: closeMerged
UPDATE requests SET status = 'closed', merged_into_id = $2, last_seq = 0, search_vector = ''::tsvector,
  closed_at = CASE WHEN status = 'closed' THEN closed_at ELSE clock_timestamp() END, updated_at = clock_timestamp()
WHERE id = $1;

-- name: findMessage
SELECT id, seq, kind, subject FROM messages WHERE id = $1 AND request_id = $2;

-- name: splitMessageIds
SELECT coalesce(array_agg(id ORDER BY seq) FILTER (WHERE id = $2 OR ($3::boolean AND seq > $4)), '{}') AS ids,
   count(*)::int AS total
FROM messages WHERE request_id = $1;

-- name: insertSplit
INSERT INTO requests (customer_id, subject, status, mailbox_id, group_id, split_from_id,
                    created_at, updated_at, last_message_at)
SELECT customer_id, $2, 'new', mailbox_id, group_id, id, clock_timestamp(), clock_timestamp(), clock_timestamp()
  FROM requests WHERE id = $1
RETURNING id, created_at;

-- name: splitMessages
WITH moved AS (
  SELECT id, row_number() OVER (ORDER BY seq)::int AS n FROM messages WHERE request_id = $1 AND id = ANY ($3::int[]))
UPDATE messages m SET request_id = $2, seq = moved.n FROM moved WHERE m.id = moved.id;

-- name: splitInboundMail
UPDATE inbound_mail SET request_id = $1 WHERE message_row_id = ANY ($2::int[]);

-- name: renumber
WITH kept AS (SELECT id, row_number() OVER (ORDER BY seq)::int AS n FROM messages WHERE request_id = $1)
UPDATE messages m SET seq = kept.n FROM kept WHERE m.id = kept.id AND m.seq <> kept.n;

-- name: recount
UPDATE requests r SET last_seq = x.n, updated_at = clock_timestamp(),
  last_message_at = coalesce(x.last_in, x.last_any, r.last_message_at),
  first_response_at = x.first_response, search_vector = x.vector
FROM (SELECT count(*)::int AS n, max(m.created_at) FILTER (WHERE m.direction = 'in') AS last_in,
             max(m.created_at) AS last_any, min(m.created_at) FILTER (WHERE m.kind = 'operator') AS first_response,
             coalesce(strip(to_tsvector('simple', left(string_agg(
     left(CASE WHEN m.kind = 'customer' THEN m.from_address || ' ' ELSE '' END || m.subject || ' ' || m.text, 10000),
     ' ' ORDER BY m.seq) FILTER (WHERE m.kind IN ('customer', 'operator', 'note')), 500000))), ''::tsvector) AS vector
        FROM messages m WHERE m.request_id = $1) x
WHERE r.id = $1;

-- name: reindex
UPDATE requests r SET last_seq = x.n, search_vector = x.vector
FROM (SELECT count(*)::int AS n, coalesce(strip(to_tsvector('simple', left(string_agg(
     left(CASE WHEN m.kind = 'customer' THEN m.from_address || ' ' ELSE '' END || m.subject || ' ' || m.text, 10000),
     ' ' ORDER BY m.seq) FILTER (WHERE m.kind IN ('customer', 'operator', 'note')), 500000))), ''::tsvector) AS vector FROM messages m WHERE m.request_id = $1) x
WHERE r.id = $1;

-- name: writeDueDates
UPDATE requests SET first_response_due_at = $2, resolution_due_at = $3 WHERE id = $1;

-- name: writeLastSeq
UPDATE requests SET last_seq = (SELECT count(*) FROM messages WHERE request_id = $1), updated_at = clock_timestamp()
WHERE id = $1;
