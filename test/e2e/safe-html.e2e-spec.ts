import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryBody, createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

const OUTLOOK = readFileSync(join(process.cwd(), 'test/fixtures/html/outlook-inline-image.eml'));
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

interface MessageBody {
  id: number;
  kind: string;
  text: string;
  html: string | null;
  blockedImages: number;
  attachments: Array<{ id: number; filename: string }>;
}

/** Safe HTML end to end: a hostile customer HTML mail in, served safe; an operator's HTML out, sanitized, inline image related. */
forEachDatabase('safe HTML', (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let auth: { Authorization: string };

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url }, kind);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  let requestId: number;

  it('serves a customer HTML mail without script, with the tracking pixel held back and the cid image at its attachment', async () => {
    const res = await postRaw(t, OUTLOOK).expect(200);
    requestId = res.body.results[0].requestId as number;
    const [stored] = await sql<{ html: string; safe_html: string }>(
      t,
      `SELECT html, safe_html FROM messages WHERE request_id = $1 AND kind = 'customer'`,
      [requestId],
    );
    expect(stored.html).toContain('<script>'); // kept as received, never served
    expect(stored.safe_html).not.toContain('script');
    expect(stored.safe_html).toContain('src="cid:image001.png@01DA1234.56789AB0"');

    const page = await t.http().get(`/requests/${requestId}/messages`).set(auth).expect(200);
    const m = (page.body.items as MessageBody[]).find((x) => x.kind === 'customer')!;
    expect(m.html).not.toMatch(/script|onload|javascript:|document\.cookie|MsoNormal|font-face/i);
    expect(m.html).toContain('HP LaserJet 4250');
    expect(m.html).toContain('<td width="200" valign="top"');
    expect(m.html).toContain(
      '<a href="https://intranet.example.com/printers/4250" target="_blank" rel="noopener noreferrer nofollow">',
    );
    expect(m.blockedImages).toBe(1);
    expect(m.html).toContain('data-remote-src="https://track.mailer.example/open.gif?id=8f2c"');
    expect(m.html).not.toContain(' src="https://track');
    const image = m.attachments.find((a) => a.filename === 'image001.png')!;
    expect(m.html).toContain(`src="/attachments/${image.id}"`);
    const download = await t
      .http()
      .get(`/attachments/${image.id}`)
      .set(auth)
      .buffer(true)
      .parse(binaryBody)
      .expect(200);
    expect(Buffer.compare(download.body as Buffer, PNG)).toBe(0);

    const shown = await t.http().get(`/requests/${requestId}/messages/${m.id}?remoteImages=true`).set(auth).expect(200);
    expect(shown.body.blockedImages).toBe(0);
    expect(shown.body.html).toContain('src="https://track.mailer.example/open.gif?id=8f2c"');
    expect(shown.body.html).toContain(`src="/attachments/${image.id}"`);
    const one = await t.http().get(`/requests/${requestId}/messages/${m.id}`).set(auth).expect(200);
    expect(one.body.blockedImages).toBe(1);
    await t.http().get(`/requests/${requestId}/messages?remoteImages=maybe`).set(auth).expect(400);
  }, 120_000); // the first mail starts a parse thread: slow on a loaded machine

  it('sanitizes rows stored before safe_html on read', async () => {
    await sql(t, `UPDATE messages SET safe_html = NULL WHERE request_id = $1 AND kind = 'customer'`, [requestId]);
    const [row] = await sql<{ id: number }>(t, `SELECT id FROM messages WHERE request_id = $1 AND kind = 'customer'`, [
      requestId,
    ]);
    const one = await t.http().get(`/requests/${requestId}/messages/${row.id}`).set(auth).expect(200);
    expect(one.body.html).not.toMatch(/script|onload|javascript:/i);
    expect(one.body.blockedImages).toBe(1);
    const page = await t.http().get(`/requests/${requestId}/messages`).set(auth).expect(200);
    const m = (page.body.items as MessageBody[]).find((x) => x.id === row.id)!;
    expect(m.html).toBe(one.body.html);
  });

  it('sends an operator HTML message sanitized, with a generated text alternative and the inline image related', async () => {
    await t.http().post(`/requests/${requestId}/assign`).set(auth).send({}).expect(200);
    const posted = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .field(
        'html',
        '<p>Hello Jane,</p><p>the jam is cleared, see <b>the photo</b>:</p><img src="cid:fixed.png" alt="fixed">' +
          '<script>alert(1)</script><p onclick="steal()">Regards</p>',
      )
      .attach('files', PNG, { filename: 'fixed.png', contentType: 'image/png' });
    expect(posted.status).toBe(201);
    const body = posted.body as MessageBody;
    expect(body.text).toBe('Hello Jane,\n\nthe jam is cleared, see the photo:\n\nRegards');
    expect(body.html).not.toMatch(/script|onclick/);
    expect(body.html).toContain(`<img alt="fixed" src="/attachments/${body.attachments[0].id}" />`);

    const mail = await waitFor(async () => sink.mails.find((x) => x.parsed.text?.includes('the jam is cleared')));
    const raw = mail.raw.toString('utf8');
    expect(raw).not.toMatch(/<script|onclick/);
    // nodemailer's shape: multipart/alternative of the text and a multipart/related of the HTML
    // with its inline image (the text part needs no images); the image's Content-ID is the HTML's cid.
    const head = raw.split(/\r?\n\r?\n/)[0];
    expect(head).toMatch(/^Content-Type:\s*multipart\/alternative/im);
    const image = mail.parsed.attachments.find((a) => a.filename === 'fixed.png')!;
    expect(image.related).toBe(true);
    expect(Buffer.compare(image.content, PNG)).toBe(0);
    // mailparser resolves a cid: to the related part it names: the image is inlined only when they match.
    expect(mail.parsed.html).toContain(`<img alt="fixed" src="data:image/png;base64,${PNG.toString('base64')}" />`);
    expect(image.cid).toMatch(/@maildesk$/);
    const textAt = raw.search(/Content-Type: text\/plain/i);
    const relatedAt = raw.search(/Content-Type: multipart\/related/i);
    const htmlAt = raw.search(/Content-Type: text\/html/i);
    const imageAt = raw.indexOf(`Content-ID: <${image.cid}>`);
    expect([textAt, relatedAt, htmlAt, imageAt].every((i) => i > 0)).toBe(true);
    expect(textAt < relatedAt && relatedAt < htmlAt && htmlAt < imageAt).toBe(true);
    expect(mail.parsed.text).toContain('Hello Jane,');
  });

  it('refuses operator html naming a cid no uploaded file has', async () => {
    const res = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .send({ html: '<img src="cid:missing.png">' });
    expect(res.status).toBe(400);
  });
});
