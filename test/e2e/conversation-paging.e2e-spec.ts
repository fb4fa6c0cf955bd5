import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail } from '../setup/mail';

interface ListedMessage {
  id: number;
  seq: number;
  text: string;
  html: string | null;
  truncated: boolean;
}

/** A multipart mail with a large text and HTML body (`size` characters each). */
function largeMail(from: string, n: number, size: number, run: string): Buffer {
  const line = `Line of mail ${n}: the log output the customer pasted goes on and on.`;
  const text = Array.from({ length: Math.ceil(size / (line.length + 2)) }, () => line).join('\r\n');
  const html = `<html><body><pre>${text}</pre></body></html>`;
  return Buffer.from(
    [
      `From: ${from}`,
      'To: support@desk.test',
      `Subject: Huge log ${n}`,
      `Message-ID: <huge-${n}.${run}@customer.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '--b',
      'Content-Type: text/html; charset=utf-8',
      '',
      html,
      '--b--',
      '',
    ].join('\r\n'),
  );
}

/**
 * GET /requests/:id/messages answers in pages (`after`/`limit`, `nextAfter` and a Link header),
 * with large bodies cut in the list (`truncated`), and the whole body at
 * GET /requests/:id/messages/:messageId.
 */
describe('conversation paging', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  const from = `logs.${RUN}@customer.test`;
  let auth: { Authorization: string };
  let requestId: number;
  const LARGE = 10;
  const SIZE = 300_000;

  beforeAll(async () => {
    t = await createTestApp();
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
    const first = await postRaw(t, rawMail({ from, subject: 'Logs', messageId: `small.${RUN}@customer.test` }));
    requestId = first.body.results[0].requestId;
    for (let n = 1; n <= LARGE; n++) {
      const res = await postRaw(t, largeMail(from, n, SIZE, RUN));
      expect(res.body.results[0]).toMatchObject({ status: 'appended', requestId });
    }
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const list = (query: string) => t.http().get(`/requests/${requestId}/messages${query}`).set(auth);

  it('keeps a small conversation in one answer of the same shape', async () => {
    const rows = rawMail({ from: `small.${RUN}@customer.test`, subject: 'Hi', messageId: `s2.${RUN}@customer.test` });
    const r = (await postRaw(t, rows)).body.results[0];
    const res = await t.http().get(`/requests/${r.requestId}/messages`).set(auth).expect(200);
    expect(res.body.items).toHaveLength(2); // the mail and its auto-reply
    expect(res.body.items[0]).toMatchObject({ seq: 1, direction: 'in', text: 'Hello.\n', truncated: false });
    expect(res.body.nextAfter).toBeNull();
    expect(res.headers.link).toBeUndefined();
  });

  it('bounds the default answer: large bodies are cut and the page stops at a size budget', async () => {
    const res = await list('').expect(200);
    expect(res.text.length).toBeLessThan(2 * 1024 * 1024);
    const items = res.body.items as ListedMessage[];
    expect(items.length).toBeGreaterThan(1);
    expect(items.length).toBeLessThan(LARGE + 2); // 1 small + its auto-reply + 10 large: not all at once
    const large = items.find((m) => m.seq > 2)!;
    expect(large.truncated).toBe(true);
    expect(large.text.length).toBe(64 * 1024);
    expect(large.html!.length).toBe(64 * 1024);
    expect(res.body.nextAfter).toBe(items[items.length - 1].seq);
    expect(res.headers.link).toContain(`after=${res.body.nextAfter}`);
    expect(res.headers.link).toContain('rel="next"');
  });

  it('pages through the whole conversation in order with after and limit', async () => {
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 20; pages++) {
      const res = await list(`?after=${after}&limit=3`).expect(200);
      const items = res.body.items as ListedMessage[];
      expect(items.length).toBeLessThanOrEqual(3);
      seen.push(...items.map((m) => m.seq));
      if (res.body.nextAfter === null) break;
      after = res.body.nextAfter;
    }
    expect(seen).toEqual(Array.from({ length: LARGE + 2 }, (_, i) => i + 1));
  });

  it('serves the whole body of one message', async () => {
    const items = (await list('?after=2&limit=1').expect(200)).body.items as ListedMessage[];
    const res = await t.http().get(`/requests/${requestId}/messages/${items[0].id}`).set(auth).expect(200);
    expect(res.body).toMatchObject({ id: items[0].id, seq: 3, truncated: false });
    expect(items[0].text.length).toBe(64 * 1024);
    expect(res.body.text.length).toBeGreaterThan(SIZE * 0.95);
    expect(res.body.text.startsWith(items[0].text)).toBe(true);
    expect(res.body.html.length).toBeGreaterThan(SIZE * 0.95);
  });

  it('answers 400 for a bad limit or cursor and 404 for a message of another request', async () => {
    await list('?limit=0').expect(400);
    await list('?limit=1000').expect(400);
    await list('?after=-1').expect(400);
    const items = (await list('?limit=1').expect(200)).body.items as ListedMessage[];
    await t
      .http()
      .get(`/requests/${requestId + 1000}/messages/${items[0].id}`)
      .set(auth)
      .expect(404);
  });
});
