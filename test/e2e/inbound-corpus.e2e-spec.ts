import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail } from '../../src/inbound-mail/parser/parse-mail';
import { createTestApp, TestApp } from '../setup/app';
import { postRaw, sql } from '../setup/mail';

/**
 * Every mail of the shared corpus through the webhook: no 5xx, each one stored (on a request or in
 * quarantine with a reason), and what is stored is what the parser read (the parser's agreement
 * with the independent expectations is checked in test/integration/parser-corpus.int-spec.ts).
 */
const CORPUS = path.resolve('test/corpus/stalwart');
const files = ['rfc', 'legacy'].flatMap((dir) =>
  readdirSync(path.join(CORPUS, dir))
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => `${dir}/${f}`),
);

describe('the shared corpus through POST /inbound/mail', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('has mails to run', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('stores or quarantines every mail, never a 5xx, and stores what the parser read', async () => {
    const seen = new Set<string>();
    let stored = 0;
    const problems: string[] = [];
    for (const file of files) {
      const raw = readFileSync(path.join(CORPUS, file));
      const res = await postRaw(t, raw);
      if (res.status !== 200) {
        problems.push(`${file}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        continue;
      }
      const [r] = res.body.results as Array<{
        status: string;
        requestId: number | null;
        messageId: string | null;
        reason: string | null;
      }>;
      const parsed = await parseMail(raw).catch(() => null);
      const key = parsed?.messageId ?? null;
      if (r.status === 'duplicate') {
        if (!key || !seen.has(key)) problems.push(`${file}: duplicate of nothing posted before (${key})`);
        continue;
      }
      if (key) seen.add(key);
      stored++;
      if (r.status === 'quarantined') {
        if (!r.reason) problems.push(`${file}: quarantined without a reason`);
        continue;
      }
      if (!['created', 'appended', 'ignored'].includes(r.status)) {
        problems.push(`${file}: unexpected status ${r.status}`);
        continue;
      }
      if (r.status === 'ignored') continue;
      const [m] = await sql<{ from_address: string; subject: string; n: string }>(
        t,
        `SELECT m.from_address, m.subject, (SELECT count(*) FROM attachments a WHERE a.message_id = m.id) AS n
         FROM messages m WHERE m.message_id = $1`,
        [r.messageId],
      );
      if (!m) {
        problems.push(`${file}: no stored message ${r.messageId}`);
        continue;
      }
      if (m.from_address !== (parsed!.from?.address ?? ''))
        problems.push(`${file}: from ${m.from_address} != ${parsed!.from?.address}`);
      if (m.subject !== parsed!.subject)
        problems.push(`${file}: subject ${JSON.stringify(m.subject)} != ${JSON.stringify(parsed!.subject)}`);
      if (Number(m.n) !== parsed!.attachments.length)
        problems.push(`${file}: ${m.n} attachments stored, ${parsed!.attachments.length} parsed`);
    }
    expect(problems).toEqual([]);
    const [{ n }] = await sql<{ n: string }>(t, `SELECT count(*) AS n FROM inbound_mail`);
    expect(Number(n)).toBe(stored); // one raw row per mail that was not a duplicate
    const quarantined = await sql(t, `SELECT id FROM inbound_mail WHERE status = 'quarantined' AND reason IS NULL`);
    expect(quarantined).toHaveLength(0);
  }, 60000);
});
