import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';

describe('POST /inbound/mail', () => {
  let t: TestApp;
  const RUN = Date.now().toString(36);
  const auth = { Authorization: `Bearer ${TEST_INBOUND_TOKEN}` };

  beforeAll(async () => {
    t = await createTestApp({ INBOUND_MAX_BYTES: '65536' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 401 JSON without a token or with a wrong one', async () => {
    const raw = rawMail({ from: 'x@customer.test', subject: 'x', messageId: `x.${RUN}@c.test` });
    for (const token of ['', 'wrong-token-0123456789']) {
      const res = await postRaw(t, raw, token);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
    await expect(sql(t, 'SELECT id FROM inbound_mail')).resolves.toHaveLength(0);
  });

  it('creates a request from raw MIME, writes the auto-reply to the file outbox, and answers duplicate on retry', async () => {
    const raw = rawMail({
      from: 'Erin <Erin@Customer.TEST>',
      subject: 'VPN down',
      messageId: `vpn.${RUN}@customer.test`,
    });
    const res = await postRaw(t, raw);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { status: 'created', requestId: expect.any(Number), messageId: `vpn.${RUN}@customer.test`, reason: null },
    ]);
    const requestId = res.body.results[0].requestId;
    const dir = path.join(t.dataDir, 'outbox');
    const files = await waitFor(
      async () =>
        fs.existsSync(dir) && fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).length > 0 && fs.readdirSync(dir),
    );
    const eml = fs.readFileSync(
      path.join(
        dir,
        files.find((f) => f.endsWith('.eml'))!,
      ),
      'utf8',
    );
    expect(eml).toMatch(/^To: erin@customer\.test/im);
    expect(eml).toMatch(new RegExp(`^Subject: .*\\[#${requestId}\\]`, 'im'));
    expect(eml).toMatch(/^Auto-Submitted: auto-replied/im);

    const again = await postRaw(t, raw);
    expect(again.body.results[0]).toMatchObject({ status: 'duplicate', requestId });
    await expect(
      sql(t, `SELECT id FROM messages WHERE message_id = $1`, [`vpn.${RUN}@customer.test`]),
    ).resolves.toHaveLength(1);
  });

  it('accepts ?token= and JSON { raw } and { raws }', async () => {
    const one = rawMail({ from: 'fay@customer.test', subject: 'one', messageId: `one.${RUN}@customer.test` });
    const two = rawMail({ from: 'fay@customer.test', subject: 'two', messageId: `two.${RUN}@customer.test` });
    const r1 = await t
      .http()
      .post(`/inbound/mail?token=${TEST_INBOUND_TOKEN}`)
      .send({ raw: one.toString('base64') });
    expect(r1.status).toBe(200);
    expect(r1.body.results[0].status).toBe('created');
    const r2 = await t
      .http()
      .post('/inbound/mail')
      .set(auth)
      .send({ raws: [one.toString('base64'), two.toString('base64')] });
    expect(r2.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'appended']);
  });

  it('processes the Apps Script batch oldest first, also at /requests/webhook/email/', async () => {
    const who = `gus.${RUN}@customer.test`;
    const body = {
      messages: [
        { title: `Second ${RUN}`, description: 'newer', user_email: who },
        { title: `First ${RUN}`, description: 'older', user_email: who },
      ],
    };
    const res = await t.http().post('/requests/webhook/email/').set(auth).send(body);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['created', 'appended']);
    const [req] = await sql<{ subject: string }>(t, `SELECT subject FROM requests WHERE id = $1`, [
      res.body.results[0].requestId,
    ]);
    expect(req.subject).toBe(`First ${RUN}`);
    const retry = await t.http().post('/inbound/mail').set(auth).send(body);
    expect(retry.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);
  });

  it('answers 400 for bodies that are none of the accepted shapes', async () => {
    const bad: Array<[string, string | object]> = [
      ['application/json', {}],
      ['application/json', { raw: 42 }],
      ['application/json', { raws: [] }],
      ['application/json', { messages: [{ title: 'x' }] }],
      ['application/json', { messages: [{ title: 'x', description: 'y', user_email: 'not an email' }] }],
      ['application/json', '{"raw": '],
      ['text/html', '<p>hello</p>'],
    ];
    for (const [type, body] of bad) {
      const res = await t.http().post('/inbound/mail').set(auth).set('Content-Type', type).send(body);
      expect({ type, body, status: res.status }).toEqual({ type, body, status: 400 });
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
  });

  it('answers 413 JSON for a body over INBOUND_MAX_BYTES', async () => {
    const big = rawMail({
      from: 'hal@customer.test',
      subject: 'big',
      messageId: `big.${RUN}@c.test`,
      text: 'x'.repeat(70000),
    });
    const res = await postRaw(t, big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413 });
  });

  it('quarantines mail without a sender and an admin can list and replay it', async () => {
    const raw = Buffer.from(`Subject: no sender\r\nMessage-ID: <nosender.${RUN}@c.test>\r\n\r\nbody\r\n`);
    const res = await postRaw(t, raw);
    expect(res.body.results[0]).toMatchObject({ status: 'quarantined', reason: expect.stringMatching(/sender/) });
    const admin = { Authorization: `Bearer ${await t.adminToken()}` };
    const list = await t.http().get('/inbound/quarantine').set(admin).expect(200);
    expect(list.body.items.map((i: { messageId: string }) => i.messageId)).toContain(`nosender.${RUN}@c.test`);
    const id = list.body.items.find((i: { messageId: string }) => i.messageId === `nosender.${RUN}@c.test`).id;
    const replay = await t.http().post(`/inbound/quarantine/${id}/replay`).set(admin).expect(200);
    expect(replay.body.status).toBe('quarantined');
    const again = await postRaw(t, raw);
    expect(again.body.results[0].status).toBe('quarantined');
    const [row] = await sql<{ attempts: number }>(t, `SELECT attempts FROM inbound_mail WHERE id = $1`, [id]);
    expect(row.attempts).toBe(3);
  });

  it('answers 503 while the database refuses connections, and recovers by itself', async () => {
    const name = new URL(t.db.url).pathname.slice(1);
    const other = await import('pg');
    const c = new other.default.Client({ connectionString: t.db.url.replace(`/${name}`, '/postgres') });
    await c.connect();
    try {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [name],
      );
      const raw = rawMail({ from: 'ida@customer.test', subject: 'during outage', messageId: `outage.${RUN}@c.test` });
      const res = await postRaw(t, raw);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503 });
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      const ok = await waitFor(async () => {
        const r = await postRaw(t, raw);
        return r.status === 200 && r;
      });
      expect(ok.body.results[0].status).toBe('created');
    } finally {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await c.end();
    }
  });
});
