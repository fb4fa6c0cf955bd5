-- The SQL of src/messages/side-threads.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: insert
INSERT INTO side_threads (request_id, token, addresses, subject, operator_id)
VALUES ($1, $2, $3::text[], $4, $5) RETURNING id;

-- name: findInRequest
SELECT id, request_id, addresses, subject FROM side_threads WHERE id = $2 AND request_id = $1;

-- name: findForReply
SELECT st.id, st.request_id FROM side_threads st
WHERE $3 = ANY (st.addresses)
  AND (st.token = ANY ($1::text[])
       OR st.id IN (SELECT m.side_thread_id FROM messages m
                     WHERE m.message_id = ANY ($2::text[]) AND m.side_thread_id IS NOT NULL))
ORDER BY st.id DESC LIMIT 1;

-- name: latestOfThread
SELECT message_id, "references" FROM messages WHERE side_thread_id = $1 ORDER BY seq DESC LIMIT 1;

-- name: chosenMessages
SELECT id, kind, from_address, from_name, to_addresses, cc_addresses, subject, created_at,
     substr(text, 1, $3) AS text, length(text) > $3 AS cut
FROM messages WHERE request_id = $1 AND id = ANY ($2::int[]) ORDER BY seq;

-- name: conversationMessages
SELECT * FROM (
  SELECT id, seq, kind, from_address, from_name, to_addresses, cc_addresses, subject, created_at,
         substr(text, 1, $3) AS text, length(text) > $3 AS cut
    FROM messages WHERE request_id = $1 AND kind IN ('customer', 'operator', 'auto_reply')
   ORDER BY seq DESC LIMIT $2) latest
ORDER BY seq;

-- name: attachmentsOf
SELECT id, size FROM attachments WHERE message_id = ANY ($1::int[]) ORDER BY id;
