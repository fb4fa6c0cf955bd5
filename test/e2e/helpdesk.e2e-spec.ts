import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/** Operators' help-desk tools: ranked search, internal notes, attachments on replies, customers, ReDoc. */
describe('help-desk tools', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let admin: string;
  let operator: string;

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  async function newRequest(from: string, subject: string, text: string, id: string): Promise<number> {
    const res = await postRaw(t, rawMail({ from, subject, text, messageId: id }));
    expect(res.body.results[0].status).toBe('created');
    return res.body.results[0].requestId as number;
  }

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, ATTACHMENT_MAX_BYTES: '2048', LOGIN_RATE_LIMIT: '1000' });
    admin = await t.adminToken();
    ({ token: operator } = await t.createOperator({
      name: 'Olga',
      email: 'olga@desk.test',
      password: 'olga-password-1',
    }));
  });

  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  describe('ranked search', () => {
    it('puts a subject hit before a message hit without sort, and keeps an explicit sort', async () => {
      const inBody = await newRequest(
        'a1@rank.test',
        'Question about invoices',
        'The scanner on floor 2 is broken.',
        'rank-1@rank.test',
      );
      const inSubject = await newRequest('a2@rank.test', 'Scanner broken', 'It makes noise.', 'rank-2@rank.test');
      const older = await newRequest('a3@rank.test', 'Scanner scanner scanner', 'scanner', 'rank-3@rank.test');
      const ranked = await t.http().get('/requests?q=scanner').set(auth(operator));
      expect(ranked.status).toBe(200);
      const ids = ranked.body.items.map((r: { id: number }) => r.id);
      expect(ids).toHaveLength(3);
      // The request naming it only in a message text comes last.
      expect(ids[2]).toBe(inBody);
      expect(ids.slice(0, 2).sort()).toEqual([inSubject, older].sort());
      const byId = await t.http().get('/requests?q=scanner&sort=id').set(auth(operator));
      expect(byId.body.items.map((r: { id: number }) => r.id)).toEqual([inBody, inSubject, older]);
      expect(byId.body.total).toBe(3);
    });
  });

  describe('internal notes', () => {
    it('shows a note in the conversation with a note event, and never emails it', async () => {
      const id = await newRequest('note@customer.test', 'VPN down', 'Cannot connect.', 'note-1@customer.test');
      await waitFor(async () => sink.mails.some((m) => m.envelope.to.includes('note@customer.test')));
      const outboxBefore = await sql<{ n: number }>(t, 'SELECT count(*)::int AS n FROM outbox');
      const res = await t
        .http()
        .post(`/requests/${id}/notes`)
        .set(auth(operator))
        .send({ text: 'Checked the VPN logs: certificate expired.' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        kind: 'note',
        direction: 'out',
        text: 'Checked the VPN logs: certificate expired.',
        to: [],
        delivery: null,
      });
      const messages = await t.http().get(`/requests/${id}/messages`).set(auth(operator));
      expect(messages.body.items.map((m: { kind: string }) => m.kind)).toEqual(['customer', 'auto_reply', 'note']);
      const events = await t.http().get(`/requests/${id}/events`).set(auth(operator));
      expect(events.body.items.at(-1)).toMatchObject({
        type: 'note',
        actor: 'operator',
        data: { messageId: res.body.id },
      });
      const outboxAfter = await sql<{ n: number }>(t, 'SELECT count(*)::int AS n FROM outbox');
      expect(outboxAfter[0].n).toBe(outboxBefore[0].n);
    });

    it('answers 404 for an unknown request and 400 for an empty note', async () => {
      expect((await t.http().post('/requests/999999/notes').set(auth(operator)).send({ text: 'x' })).status).toBe(404);
      const id = await newRequest('note2@customer.test', 'Hello', 'Hi', 'note-2@customer.test');
      expect((await t.http().post(`/requests/${id}/notes`).set(auth(operator)).send({ text: '' })).status).toBe(400);
    });
  });

  describe('attachments on operator messages', () => {
    it('stores the files of a multipart message and emails them with it', async () => {
      const id = await newRequest('files@customer.test', 'Need the manual', 'Please send it.', 'files-1@customer.test');
      const res = await t
        .http()
        .post(`/requests/${id}/messages`)
        .set(auth(operator))
        .field('text', 'Here is the manual and the driver notes.')
        .attach('files', Buffer.from('%PDF-1.4 manual'), {
          filename: 'Руководство.pdf',
          contentType: 'application/pdf',
        })
        .attach('files[]', Buffer.from('driver notes'), { filename: 'notes.txt', contentType: 'text/plain' });
      expect(res.status).toBe(201);
      expect(res.body.text).toBe('Here is the manual and the driver notes.');
      expect(res.body.attachments.map((a: { filename: string; size: number }) => [a.filename, a.size])).toEqual([
        ['Руководство.pdf', 15],
        ['notes.txt', 12],
      ]);
      const download = await t.http().get(`/attachments/${res.body.attachments[1].id}`).set(auth(operator));
      expect(download.status).toBe(200);
      expect(download.text).toBe('driver notes');
      const mail = await waitFor(async () => sink.mails.find((m) => m.parsed.text?.includes('Here is the manual')));
      expect(mail.envelope.to).toEqual(['files@customer.test']);
      expect(mail.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([
        ['Руководство.pdf', 'application/pdf', '%PDF-1.4 manual'],
        ['notes.txt', 'text/plain', 'driver notes'],
      ]);
    });

    it('still takes a JSON body, and refuses a file over ATTACHMENT_MAX_BYTES with 413 and too many files with 400', async () => {
      const id = await newRequest('big@customer.test', 'Big file', 'Hi', 'big-1@customer.test');
      const json = await t
        .http()
        .post(`/requests/${id}/messages`)
        .set(auth(operator))
        .send({ text: 'Plain JSON reply.' });
      expect(json.status).toBe(201);
      expect(json.body.attachments).toEqual([]);
      const big = await t
        .http()
        .post(`/requests/${id}/messages`)
        .set(auth(operator))
        .field('text', 'too big')
        .attach('files', Buffer.alloc(4096, 1), { filename: 'big.bin' });
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ statusCode: 413, error: expect.any(String) });
      let many = t.http().post(`/requests/${id}/messages`).set(auth(operator)).field('text', 'many');
      for (let i = 0; i < 11; i++) many = many.attach('files', Buffer.from(`f${i}`), { filename: `f${i}.txt` });
      expect((await many).status).toBe(400);
      const texts = (await sql<{ text: string }>(t, 'SELECT text FROM messages WHERE request_id = $1', [id])).map(
        (m) => m.text,
      );
      expect(texts).not.toContain('too big');
      expect(texts).not.toContain('many');
    });
  });

  describe('customers', () => {
    it('finds customers by part of the address or name, with % and _ taken literally', async () => {
      await newRequest('"Zoe 100% Real" <zoe_1@cust.test>', 'Hi', 'Hi', 'cust-1@cust.test');
      await newRequest('"Zack" <zack@cust.test>', 'Hi', 'Hi', 'cust-2@cust.test');
      const byDomain = await t.http().get('/customers?q=CUST.TEST').set(auth(operator));
      expect(byDomain.status).toBe(200);
      expect(byDomain.body.items.map((c: { email: string }) => c.email)).toEqual(['zack@cust.test', 'zoe_1@cust.test']);
      expect(byDomain.body.total).toBe(2);
      const byName = await t.http().get('/customers?q=100%25').set(auth(operator));
      expect(byName.body.items.map((c: { email: string }) => c.email)).toEqual(['zoe_1@cust.test']);
      const underscore = await t.http().get('/customers?q=e_1').set(auth(operator));
      expect(underscore.body.items.map((c: { email: string }) => c.email)).toEqual(['zoe_1@cust.test']);
      // "_" is not a wildcard: "zac_" matches nothing.
      expect((await t.http().get('/customers?q=zac_').set(auth(operator))).body.items).toEqual([]);
      const paged = await t.http().get('/customers?q=cust.test&limit=1&page=2').set(auth(operator));
      expect(paged.body).toMatchObject({
        total: 2,
        page: 2,
        limit: 1,
        items: [{ email: 'zoe_1@cust.test', name: 'Zoe 100% Real', requestCount: 1 }],
      });
    });

    it('shows a customer with their requests, and lets an admin rename and block them', async () => {
      const requestId = await newRequest('"Kim" <kim@cust.test>', 'Broken mouse', 'Hi', 'cust-3@cust.test');
      const [{ id }] = await sql<{ id: number }>(t, `SELECT id FROM customers WHERE email = 'kim@cust.test'`);
      const one = await t.http().get(`/customers/${id}`).set(auth(operator));
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        id,
        email: 'kim@cust.test',
        name: 'Kim',
        blocked: false,
        requests: [{ id: requestId, status: 'new', subject: 'Broken mouse' }],
      });
      expect((await t.http().get('/customers/999999').set(auth(operator))).status).toBe(404);
      expect((await t.http().patch(`/customers/${id}`).set(auth(operator)).send({ blocked: true })).status).toBe(403);
      const patched = await t
        .http()
        .patch(`/customers/${id}`)
        .set(auth(admin))
        .send({ blocked: true, name: 'Kim Lee' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ blocked: true, name: 'Kim Lee' });
      expect((await t.http().patch(`/customers/${id}`).set(auth(admin)).send({ blocked: 'yes' })).status).toBe(400);
    });
  });

  describe('ReDoc', () => {
    it('serves a ReDoc page on /docs-json and its bundle from the app, without a token', async () => {
      const page = await t.http().get('/redoc');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.text).toContain('spec-url="/docs-json"');
      expect(page.text).toContain('src="/redoc/redoc.standalone.js"');
      expect(page.text).not.toMatch(/https?:\/\//);
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.headers['content-security-policy']).toContain('worker-src');
      const bundle = await t.http().get('/redoc/redoc.standalone.js');
      expect(bundle.status).toBe(200);
      expect(bundle.headers['content-type']).toMatch(/javascript/);
      expect(Number(bundle.headers['content-length'] ?? bundle.text.length)).toBeGreaterThan(100_000);
    });
  });
});
