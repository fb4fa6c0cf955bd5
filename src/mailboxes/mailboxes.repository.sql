-- The SQL of src/mailboxes/mailboxes.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: list
SELECT * FROM mailboxes ORDER BY id;

-- name: get
SELECT * FROM mailboxes WHERE id = $1;

-- name: probe
SELECT count(*)::int AS n, coalesce(sum(version), 0)::text AS v FROM mailboxes;

-- name: insert
INSERT INTO mailboxes (name, address, aliases, group_id, signature, imap_url, imap_secret,
  smtp_url, smtp_secret, oauth2, oauth2_client_secret)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *;

-- name: update
UPDATE mailboxes SET name = $2, address = $3, aliases = $4, group_id = $5, signature = $6,
  imap_url = $7, imap_secret = $8, smtp_url = $9, smtp_secret = $10, oauth2 = $11, oauth2_client_secret = $12,
  oauth2_refresh_secret = CASE WHEN $13 THEN NULL ELSE oauth2_refresh_secret END,
  oauth2_access_secret = CASE WHEN $13 THEN NULL ELSE oauth2_access_secret END,
  oauth2_access_expires_at = CASE WHEN $13 THEN NULL ELSE oauth2_access_expires_at END,
  version = version + 1, updated_at = now()
WHERE id = $1 RETURNING *;

-- name: lockGroup
SELECT id FROM groups WHERE id = $1 FOR KEY SHARE;

-- name: deleteAddresses
DELETE FROM mailbox_addresses WHERE mailbox_id = $1;

-- name: reserveAddresses
INSERT INTO mailbox_addresses (address, mailbox_id)
SELECT DISTINCT unnest($2::text[]), $1::int ON CONFLICT (address) DO NOTHING RETURNING address;

-- name: takenAddresses
SELECT address FROM mailbox_addresses WHERE address = ANY ($1) AND mailbox_id <> $2;

-- name: setState
UPDATE mailboxes SET state = $2,
  version = version + CASE WHEN state IN ('needs_reauthorization', 'disabled')
    OR $2 IN ('needs_reauthorization', 'disabled') THEN 1 ELSE 0 END,
  updated_at = now()
WHERE id = $1 AND state <> $2 AND ($3::text[] IS NULL OR state = ANY ($3)) RETURNING *;

-- name: recordPollSuccess
UPDATE mailboxes SET last_success_at = $2, backlog = coalesce($3, backlog),
  state = CASE WHEN state = 'error' THEN 'active' ELSE state END
WHERE id = $1;

-- name: recordPollError
UPDATE mailboxes SET last_error = $2, last_error_at = $3, backlog = coalesce($4, backlog),
  state = CASE WHEN state = 'active' THEN 'error' ELSE state END
WHERE id = $1;

-- name: storeTokens
UPDATE mailboxes SET
  oauth2_refresh_secret = CASE WHEN $2 THEN $3 ELSE oauth2_refresh_secret END,
  oauth2_access_secret = $4, oauth2_access_expires_at = $5
WHERE id = $1 RETURNING *;

-- name: bumpVersion
UPDATE mailboxes SET version = version + 1, updated_at = now() WHERE id = $1;

-- name: defaultRow
SELECT * FROM mailboxes WHERE is_default;

-- name: insertDefault
INSERT INTO mailboxes (name, address, is_default) VALUES ($1, $2, true)
ON CONFLICT (is_default) WHERE is_default DO NOTHING RETURNING *;

-- name: updateDefault
UPDATE mailboxes SET name = $2, address = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND is_default RETURNING *;

-- name: sealedMailboxColumns
SELECT id, imap_secret, smtp_secret, oauth2_client_secret, oauth2_refresh_secret,
  oauth2_access_secret
FROM mailboxes ORDER BY id FOR UPDATE;

-- name: resealMailbox
UPDATE mailboxes SET imap_secret = $2, smtp_secret = $3, oauth2_client_secret = $4,
  oauth2_refresh_secret = $5, oauth2_access_secret = $6
WHERE id = $1;

-- name: sealedVerifiers
SELECT state_hash, verifier_secret FROM oauth2_authorizations ORDER BY state_hash FOR UPDATE;

-- name: resealVerifier
UPDATE oauth2_authorizations SET verifier_secret = $2 WHERE state_hash = $1;
