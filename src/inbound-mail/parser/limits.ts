/**
 * Bounds on the work one inbound mail may cause, in one place. Each is checked where the work is
 * done; a mail past a "quarantine" cap is kept raw with the reason, a mail past a "bounded" cap is
 * processed with the excess left out. The wall-clock deadline of a parse is a setting
 * (MAIL_PARSE_TIMEOUT_MS), not a constant: see src/config/config.ts.
 */

/**
 * 8 distinct charsets, taken as hints for undeclared 8-bit text (bounded). Labels are deduplicated
 * by the charset iconv-lite resolves them to (`iso-8859-1:0001` and `ISO_8859-1` are one), so a
 * mail cannot make every badly decoded word score thousands of hints. Real mail declares 1-3.
 */
export const MAX_CHARSET_HINTS = 8;

/**
 * 200 encoded words repaired per header field (bounded). Past it, the rest of the field's words are
 * left as written: mailparser decodes them in the charset they declare, with no detection. A
 * 998-character subject holds about 60 words.
 */
export const MAX_ENCODED_WORDS_PER_HEADER = 200;

/**
 * 10 `[#n]` request tokens looked up per subject, the first ones (bounded): each is a query in the
 * ingest transaction. A reply quotes one, a forwarded chain a few.
 */
export const MAX_SUBJECT_TOKENS = 10;

/**
 * 50 References ids kept per mail, the last ones (bounded): the most recent messages of a thread
 * are the ones that find its request. Long threads carry a few dozen at most.
 */
export const MAX_REFERENCES = 50;

/** 1,000 header fields in the top header block (quarantine: `too many headers`). Real mail has 10-100. */
export const MAX_HEADER_FIELDS = 1000;

/**
 * 256 KiB for the top header block (quarantine: `header too large`). Heavily relayed, DKIM/ARC-signed
 * mail stays under 64 KiB.
 */
export const MAX_HEADER_BYTES = 256 * 1024;

/**
 * 512 KiB: mailparser's `maxHeadSize`, for the header of every MIME part (quarantine: `header too
 * large`). mailparser counts each line as at least 64 bytes with its line break, so twice
 * MAX_HEADER_BYTES: the top block is judged by its bytes above, and 6,000 short folded lines fit.
 */
export const MAX_PART_HEADER_COST = 2 * MAX_HEADER_BYTES;

/**
 * 500 MIME parts per mail (quarantine: `too many MIME parts`): mailparser's `maxChildNodes`, and the
 * most parts the repair walk looks at.
 */
export const MAX_MIME_PARTS = 500;

/** 100 attachments per mail (quarantine: `too many attachments`): each is a row and a file in storage. */
export const MAX_ATTACHMENTS = 100;
