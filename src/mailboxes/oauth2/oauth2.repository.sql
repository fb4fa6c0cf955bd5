-- The SQL of src/mailboxes/oauth2/oauth2.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: insertAuthorization
INSERT INTO oauth2_authorizations
  (state_hash, mailbox_id, operator_id, verifier_secret, redirect_uri, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6));

-- name: deleteExpiredAuthorizations
DELETE FROM oauth2_authorizations WHERE expires_at < now();

-- name: takeAuthorization
DELETE FROM oauth2_authorizations WHERE state_hash = $1
RETURNING mailbox_id, operator_id, verifier_secret, redirect_uri, expires_at > now() AS fresh;

-- name: refreshLock
SELECT pg_advisory_xact_lock(hashtext('maildesk:oauth2-refresh:' || $1::text));

-- name: dropAccessToken
UPDATE mailboxes SET oauth2_access_secret = NULL, oauth2_access_expires_at = NULL
WHERE id = $1 AND oauth2_access_secret = $2;

-- name: markNeedsReauthorization
UPDATE mailboxes SET state = 'needs_reauthorization', last_error = $2,
  last_error_at = now(), version = version + 1, updated_at = now()
WHERE id = $1 AND state IN ('active', 'error') RETURNING *;

-- name: authorized
UPDATE mailboxes SET oauth2_refresh_secret = $2, oauth2_access_secret = $3,
  oauth2_access_expires_at = $4,
  state = CASE WHEN state = 'disabled' THEN state ELSE 'active' END,
  last_error = NULL, last_error_at = NULL, version = version + 1, updated_at = now()
WHERE id = $1 RETURNING *;
