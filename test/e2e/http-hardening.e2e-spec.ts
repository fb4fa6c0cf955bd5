import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { postRaw, rawMail } from '../setup/mail';

/** A mail with an HTML attachment under a non-ASCII name and an SVG one. */
function mailWithAttachments(messageId: string): Buffer {
  const html = '<html><body><script>alert(document.cookie)</script></body></html>';
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
  return Buffer.from(
    [
      'From: Mallory <mallory@example.com>',
      'To: support@desk.test',
      'Subject: Look at this',
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'See attached.',
      '--b',
      'Content-Type: text/html; charset=utf-8; name="=?UTF-8?B?UmVjaG51bmcgw6TDtsO8IDIwMjUuaHRtbA==?="',
      "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20%C3%A4%C3%B6%C3%BC%202025.html",
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(html).toString('base64'),
      '--b',
      'Content-Type: image/svg+xml; name="a\\"b.svg"',
      'Content-Disposition: attachment; filename="a\\"b.svg"',
      '',
      svg,
      '--b--',
      '',
    ].join('\r\n'),
  );
}

describe('HTTP hardening', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sends helmet security headers and a no-content CSP on API answers', async () => {
    const res = await t.http().get('/health/live');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('relaxes the CSP for Swagger UI only, just enough for its own scripts', async () => {
    const page = await t.http().get('/docs').redirects(2);
    expect(page.status).toBe(200);
    const csp = page.headers['content-security-policy'];
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    // Every script the page loads is same-origin, so the CSP allows it, and it is served.
    const scripts = [...page.text.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).not.toMatch(/^(https?:)?\/\//);
      const js = await t.http().get(new URL(src, 'http://x/docs').pathname);
      expect({ src, status: js.status }).toEqual({ src, status: 200 });
    }
    expect((await t.http().get('/docs-json')).status).toBe(200);
  });

  it('sends no CORS headers when CORS_ORIGINS is unset', async () => {
    const res = await t
      .http()
      .options('/requests')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'GET');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await t.http().get('/health/live').set('Origin', 'https://evil.example');
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('limits JSON bodies to 1 MB on ordinary routes', async () => {
    const admin = await t.adminToken();
    const big = await t
      .http()
      .post('/operators')
      .set('Authorization', `Bearer ${admin}`)
      .send({
        name: 'x'.repeat(1024 * 1024 + 10),
        email: 'big@desk.test',
        password: 'big-password-1',
        role: 'operator',
      });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    const form = await t
      .http()
      .post('/auth/login')
      .type('form')
      .send(`email=a@b.c&password=${'x'.repeat(1024 * 1024 + 10)}`);
    expect(form.status).toBe(413);
  });

  it("checks an operator route's credentials before reading its body", async () => {
    // Without credentials: 401, not the 400 of the malformed JSON nor the 413 of the size.
    for (const body of ['{"text": ', JSON.stringify({ text: 'x'.repeat(2 * 1024 * 1024) })]) {
      for (const auth of [undefined, 'Bearer not-a-token', 'Bearer mdt_unknown_0123456789abcdef0123456789abcdef']) {
        const req = t.http().post('/requests/1/messages').set('Content-Type', 'application/json');
        if (auth) req.set('Authorization', auth);
        const res = await req.send(body);
        expect({ auth, status: res.status }).toEqual({ auth, status: 401 });
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }
    }
    // With credentials the body is read as before: the malformed JSON is a 400.
    const admin = await t.adminToken();
    const bad = await t
      .http()
      .post('/requests/1/messages')
      .set('Authorization', `Bearer ${admin}`)
      .set('Content-Type', 'application/json')
      .send('{"text": ');
    expect(bad.status).toBe(400);
    // A public route's body is read without an operator token (its malformed JSON: 400, not 401).
    const login = await t.http().post('/auth/login').set('Content-Type', 'application/json').send('{"email": ');
    expect(login.status).toBe(400);
    const webhook = await postRaw(t, rawMail({ from: 'gate@example.com', subject: 'gate', messageId: 'gate@c.test' }));
    expect(webhook.status).toBe(200);
  });

  it('lets the webhook take mail larger than 1 MB (its own limit)', async () => {
    const raw = rawMail({
      from: 'big@example.com',
      subject: 'Large',
      messageId: 'large-1@example.com',
      text: 'y'.repeat(1536 * 1024),
    });
    const res = await postRaw(t, raw);
    expect(res.status).toBe(200);
    const json = await t
      .http()
      .post('/inbound/mail')
      .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
      .send({
        raw: rawMail({
          from: 'big@example.com',
          subject: 'Large 2',
          messageId: 'large-2@example.com',
          text: 'z'.repeat(1536 * 1024),
        }).toString('base64'),
      });
    expect(json.status).toBe(200);
  });

  it('serves an attachment as a sandboxed download with its stored type and exact name', async () => {
    const created = await postRaw(t, mailWithAttachments('att-1@example.com'));
    const requestId = created.body.results[0].requestId;
    const admin = await t.adminToken();
    const messages = await t.http().get(`/requests/${requestId}/messages`).set('Authorization', `Bearer ${admin}`);
    const [html, svg] = messages.body.items[0].attachments as Array<{ id: number; filename: string }>;
    expect(html.filename).toBe('Rechnung äöü 2025.html');

    const res = await t.http().get(`/attachments/${html.id}`).set('Authorization', `Bearer ${admin}`).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="Rechnung ___ 2025.html"; filename*=UTF-8''Rechnung%20%C3%A4%C3%B6%C3%BC%202025.html`,
    );
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/(^|;\s*)sandbox(;|$)/);
    expect(res.text).toContain('<script>alert(document.cookie)</script>');

    const s = await t.http().get(`/attachments/${svg.id}`).set('Authorization', `Bearer ${admin}`).buffer(true);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(s.headers['content-disposition']).toMatch(/^attachment; filename="a_b\.svg"; filename\*=UTF-8''a%22b\.svg$/);
    expect(s.headers['content-security-policy']).toMatch(/sandbox/);
  });

  it('answers 401 without a token, 404 for an unknown attachment and 400 for a bad id', async () => {
    const admin = await t.adminToken();
    expect((await t.http().get('/attachments/1')).status).toBe(401);
    const missing = await t.http().get('/attachments/999999').set('Authorization', `Bearer ${admin}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((await t.http().get('/attachments/abc').set('Authorization', `Bearer ${admin}`)).status).toBe(400);
  });
});

describe('HTTP hardening with settings', () => {
  it('answers CORS only for the origins in CORS_ORIGINS', async () => {
    const t = await createTestApp({ CORS_ORIGINS: 'https://desk.example' });
    try {
      const ok = await t.http().get('/health/live').set('Origin', 'https://desk.example');
      expect(ok.headers['access-control-allow-origin']).toBe('https://desk.example');
      const other = await t.http().get('/health/live').set('Origin', 'https://evil.example');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('answers 413 over INBOUND_MAX_BYTES on the webhook, raw and JSON', async () => {
    const t = await createTestApp({ INBOUND_MAX_BYTES: '4096' });
    try {
      const raw = rawMail({
        from: 'x@example.com',
        subject: 'Too big',
        messageId: 'big-1@example.com',
        text: 'q'.repeat(8192),
      });
      const r1 = await postRaw(t, raw);
      expect(r1.status).toBe(413);
      expect(r1.body).toMatchObject({ statusCode: 413 });
      const r2 = await t
        .http()
        .post('/inbound/mail')
        .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
        .send({ raw: raw.toString('base64') + ' '.repeat(80 * 1024) });
      expect(r2.status).toBe(413);
      const rows = await t.db.dataSource.query('SELECT count(*)::int AS n FROM inbound_mail');
      expect(rows[0].n).toBe(0);
    } finally {
      await t.close();
    }
  });
});
