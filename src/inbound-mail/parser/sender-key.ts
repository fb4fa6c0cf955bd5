/**
 * The sender address as written in the From header of raw mail (lower-cased; '' when absent), read
 * without parsing the mail: the IMAP import ingests one sender's messages one after the other, in
 * UID order, and asks this of each message before it is parsed.
 */
export function senderKey(raw: Buffer): string {
  const head = raw.subarray(0, 32_768).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const from = /^from:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/im.exec(end >= 0 ? head.slice(0, end) : head)?.[1] ?? '';
  return (/<([^<>]*)>/.exec(from)?.[1] ?? from).trim().toLowerCase();
}
