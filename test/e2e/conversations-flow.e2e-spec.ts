import * as nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { SmtpListenerService } from '../../src/inbound-mail/smtp/smtp-listener.service';
import { createTestApp, type TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { sql, waitFor } from '../setup/mail';
import { SmtpSink, type SinkMail } from '../setup/smtp-sink';

/** A 1x1 PNG: the inline image of the customer's first mail. */
const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

interface MessageBody {
  id: number;
  kind: string;
  direction: string;
  from: string;
  to: string[];
  cc: string[];
  bcc?: string[];
  text: string;
  visibleText: string;
  html: string | null;
  messageId: string;
  sideThreadId?: number | null;
  attachments: Array<{ id: number; filename: string; contentType: string }>;
}

/**
 * Issue 20, "done when": a Russian customer's mail with two Cc'd colleagues and an inline image,
 * in through the SMTP listener; answered by an operator (the colleagues in Cc); forwarded to a
 * vendor whose reply stays internal; merged with a duplicate request and partly split off again;
 * every mail out through a real SMTP server with the right recipients, no unsanitized HTML served,
 * the auto-replies in Russian.
 */
forEachDatabase('a conversation end to end: Cc, forward, merge, split, safe HTML, Russian', (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let smtpIn: nodemailer.Transporter;
  let auth: { Authorization: string };
  const ivan = 'ivan@customer.test';
  const anna = 'anna@customer.test';
  const boris = 'boris@customer.test';
  const vendor = 'parts@vendor.test';
  const everyone = [ivan, anna, boris];

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, SMTP_LISTEN: '127.0.0.1:0', OUTBOX_RETRY_BASE_MS: '100' }, kind);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
    const port = t.app.get(SmtpListenerService).address('smtp')!.port;
    smtpIn = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  }, 60000);
  afterAll(async () => {
    smtpIn?.close();
    await t?.close();
    await sink?.stop();
  });

  /** Sends a mail to the desk through its SMTP listener; resolves once the desk answered 250 (stored). */
  const send = async (mail: Mail.Options) => {
    const info = await smtpIn.sendMail({ to: 'support@desk.test', date: new Date(), ...mail });
    expect(info.response).toMatch(/^250 /);
    return info;
  };
  const mailsTo = (address: string) => sink.mails.filter((m) => m.envelope.to.includes(address));
  const header = (m: SinkMail, name: string) => {
    const v = m.parsed.headers.get(name);
    return typeof v === 'string' ? v : '';
  };
  const api = () => t.http();
  const messages = async (requestId: number, query = ''): Promise<MessageBody[]> => {
    const res = await api().get(`/requests/${requestId}/messages${query}`).set(auth).expect(200);
    return res.body.items as MessageBody[];
  };
  const eventsOf = async (requestId: number): Promise<Array<{ type: string; data: Record<string, unknown> }>> =>
    (await api().get(`/requests/${requestId}/events`).set(auth).expect(200)).body.items;
  /** Every mail the sink got whose envelope names one of `addresses`. */
  const mailsToAnyOf = (addresses: string[]) =>
    sink.mails.filter((m) => m.envelope.to.some((a) => addresses.includes(a)));
  /** The request a stored mail went on. */
  const requestOf = async (messageId: string) => {
    const rows = await waitFor(async () => {
      const r = await sql<{ request_id: number; kind: string }>(
        t,
        `SELECT request_id, kind FROM messages WHERE message_id = $1`,
        [messageId],
      );
      return r.length ? r : null;
    });
    return rows[0];
  };

  it('runs the whole conversation', async () => {
    // 1. Ivan writes in Russian, Cc two colleagues (and Bcc nobody we can see), with an inline image,
    //    a tracking pixel and a script in his HTML.
    const first = `first.${kind}@customer.test`;
    await send({
      from: `Иван Петров <${ivan}>`,
      cc: [`Anna Smirnova <${anna}>`, boris],
      messageId: `<${first}>`,
      subject: 'Принтер не печатает',
      headers: { 'Content-Language': 'ru' },
      text: 'Здравствуйте! Принтер не печатает. Фото ниже.',
      html:
        '<p>Здравствуйте! Принтер не печатает.</p><img src="cid:photo@customer.test" alt="фото">' +
        '<img src="https://tracker.example/pixel.gif?u=ivan" width="1" height="1">' +
        '<script>alert(1)</script><a href="javascript:alert(2)">ссылка</a>',
      attachments: [
        { filename: 'photo.png', content: PIXEL_PNG, cid: 'photo@customer.test', contentType: 'image/png' },
      ],
    });
    const { request_id: requestId } = await requestOf(first);

    // The creation auto-reply: Russian, to Ivan only.
    await waitFor(async () => mailsTo(ivan).length === 1);
    const created = mailsTo(ivan)[0];
    expect(created.envelope.to).toEqual([ivan]);
    expect(header(created, 'cc')).toBe('');
    expect(created.parsed.text).toMatch(/[А-Яа-яЁё]{4,}/);

    // Participants: the two colleagues, never a Bcc, never our own address.
    const request = (await api().get(`/requests/${requestId}`).set(auth).expect(200)).body;
    expect((request.participants as Array<{ email: string; name: string | null }>).map((p) => p.email).sort()).toEqual([
      anna,
      boris,
    ]);
    expect(request.participants.find((p: { email: string }) => p.email === anna).name).toBe('Anna Smirnova');

    // Safe HTML: no script, no javascript: link, the pixel blocked, the inline image served by its URL.
    const [incoming] = await messages(requestId);
    expect(incoming.html).not.toMatch(/<script|javascript:|onerror|tracker\.example\/pixel\.gif"/i);
    expect(incoming.html).not.toMatch(/\ssrc="https:\/\/tracker/);
    expect(incoming.html).toContain('data-remote-src="https://tracker.example/pixel.gif?u=ivan"');
    const image = incoming.attachments.find((a) => a.filename === 'photo.png')!;
    expect(image).toBeDefined();
    const tag = /<img[^>]*alt="фото"[^>]*>/.exec(incoming.html!)?.[0] ?? '';
    const src = /\ssrc="([^"]+)"/.exec(tag)?.[1] ?? '';
    expect(src).toBe(`/attachments/${image.id}`);
    const download = await api().get(src).set(auth).buffer(true).expect(200);
    expect(Buffer.compare(download.body as Buffer, PIXEL_PNG)).toBe(0);

    // 2. An operator takes it (Russian auto-reply to Ivan only) and answers: Ivan, Cc the colleagues.
    await api().post(`/requests/${requestId}/assign`).set(auth).send({}).expect(200);
    await waitFor(async () => mailsTo(ivan).length === 2);
    expect(mailsTo(ivan)[1].envelope.to).toEqual([ivan]);
    expect(mailsTo(ivan)[1].parsed.text).toMatch(/[А-Яа-яЁё]{4,}/);
    const answer = await api()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .send({ text: 'Мастер уже едет.', html: '<p>Мастер уже едет.</p><script>steal()</script>' })
      .expect(201);
    expect(answer.body.cc.sort()).toEqual([anna, boris]);
    await waitFor(async () => mailsTo(ivan).length === 3);
    const reply = mailsTo(ivan)[2];
    expect(reply.envelope.to.sort()).toEqual([...everyone].sort());
    expect(
      reply.parsed.cc && 'value' in reply.parsed.cc ? reply.parsed.cc.value.map((a) => a.address).sort() : [],
    ).toEqual([anna, boris]);
    expect(reply.parsed.headers.has('bcc')).toBe(false);
    expect(reply.parsed.inReplyTo).toBe(`<${first}>`);
    expect(reply.parsed.html || '').not.toContain('<script');

    // 3. Anna answers the operator's mail, quoting it: her mail joins the request; its new text has no quote.
    const annaReply = `anna1.${kind}@customer.test`;
    await send({
      from: `Anna Smirnova <${anna}>`,
      to: 'support@desk.test',
      cc: [ivan, boris],
      messageId: `<${annaReply}>`,
      inReplyTo: `<${answer.body.messageId}>`,
      references: [`<${first}>`, `<${answer.body.messageId}>`],
      subject: `Re: ${reply.parsed.subject}`,
      text:
        'Спасибо, ждём мастера к 15:00.\n\n' +
        `On Mon, 7 Dec 2026 at 10:00, Support <support@desk.test> wrote:\n> Мастер уже едет.\n`,
    });
    const annaRow = await requestOf(annaReply);
    expect(annaRow).toEqual({ request_id: requestId, kind: 'customer' });
    const annaMessage = (await messages(requestId)).find((m) => m.messageId === annaReply)!;
    expect(annaMessage.text).toContain('Мастер уже едет.');
    expect(annaMessage.visibleText.trim()).toBe('Спасибо, ждём мастера к 15:00.');

    // 4. Forward the first mail (with its image) to a vendor: only the vendor gets it.
    const before = mailsToAnyOf(everyone).length;
    const forwarded = await api()
      .post(`/requests/${requestId}/forward`)
      .set(auth)
      .send({ to: vendor, text: 'Please check this printer.', messageIds: [incoming.id] })
      .expect(201);
    await waitFor(async () => mailsTo(vendor).length === 1);
    const toVendor = mailsTo(vendor)[0];
    expect(toVendor.envelope.to).toEqual([vendor]);
    const vendorHeaders = toVendor.raw.toString('latin1').split(/\r?\n\r?\n/)[0];
    for (const person of everyone) expect(vendorHeaders).not.toContain(person);
    expect(toVendor.parsed.attachments.map((a) => a.filename)).toContain('photo.png');
    expect(toVendor.parsed.text).toContain('Please check this printer.');

    // The vendor's answer comes back as a side message and is mailed to nobody.
    const vendorReply = `v1.${kind}@vendor.test`;
    await send({
      from: vendor,
      messageId: `<${vendorReply}>`,
      inReplyTo: toVendor.parsed.messageId,
      references: [toVendor.parsed.messageId!],
      subject: `Re: ${toVendor.parsed.subject}`,
      text: 'The fuser is on back order, two weeks.',
    });
    expect(await requestOf(vendorReply)).toEqual({ request_id: requestId, kind: 'side' });
    const side = (await messages(requestId)).find((m) => m.messageId === vendorReply)!;
    expect(side.sideThreadId).toBe(forwarded.body.sideThreadId);
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsToAnyOf(everyone)).toHaveLength(before);

    // 5. Boris opens a duplicate request (no reference): merged into Ivan's, without a closing mail.
    const dup = `dup.${kind}@customer.test`;
    await send({ from: boris, messageId: `<${dup}>`, subject: 'Printer again', text: 'Same printer, same problem.' });
    const { request_id: duplicateId } = await requestOf(dup);
    expect(duplicateId).not.toBe(requestId);
    await waitFor(async () => mailsTo(boris).filter((m) => m.envelope.to.length === 1).length === 1);
    const borisMails = mailsTo(boris).length;
    const merged = await api().post(`/requests/${duplicateId}/merge`).set(auth).send({ intoId: requestId }).expect(200);
    expect(merged.body.id).toBe(requestId);
    const source = (await api().get(`/requests/${duplicateId}`).set(auth).expect(200)).body;
    expect(source).toMatchObject({ status: 'closed', mergedIntoId: requestId });
    expect((await messages(requestId)).map((m) => m.messageId)).toContain(dup);
    expect(await messages(duplicateId)).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(boris)).toHaveLength(borisMails);

    // Later mail to the merged request (its token) lands on the target.
    const late = `late.${kind}@customer.test`;
    await send({
      from: boris,
      messageId: `<${late}>`,
      subject: `Re: [#${duplicateId}] Printer again`,
      text: 'Any news?',
    });
    expect((await requestOf(late)).request_id).toBe(requestId);

    // 6. Split Boris's two mails off again, into a request of their own.
    const dupRow = (await messages(requestId)).find((m) => m.messageId === dup)!;
    const split = await api()
      .post(`/requests/${requestId}/split`)
      .set(auth)
      .send({ messageId: dupRow.id, following: false })
      .expect(201);
    const splitId = split.body.id as number;
    expect(split.body.splitFromId).toBe(requestId);
    expect((await messages(splitId)).map((m) => m.messageId)).toEqual([dup]);
    expect((await messages(requestId)).map((m) => m.messageId)).not.toContain(dup);
    expect((await eventsOf(requestId)).map((e) => e.type)).toEqual(expect.arrayContaining(['merged', 'split']));
    const seqs = (await messages(requestId)).map((m) => (m as unknown as { seq: number }).seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    // 7. Close: the Russian closing mail to Ivan only.
    const ivanBefore = mailsTo(ivan).length;
    await api().post(`/requests/${requestId}/close`).set(auth).expect(200);
    await waitFor(async () => mailsTo(ivan).length === ivanBefore + 1);
    const closing = mailsTo(ivan)[ivanBefore];
    expect(closing.envelope.to).toEqual([ivan]);
    expect(closing.parsed.text).toMatch(/[А-Яа-яЁё]{4,}/);

    // No message of any request is served with unsanitized HTML.
    for (const id of [requestId, duplicateId, splitId])
      for (const m of await messages(id, '?limit=200')) {
        expect(m.html ?? '').not.toMatch(/<script|javascript:|\son\w+=/i);
      }
    // The vendor never got mail for the customer, and the customer never got the vendor's.
    expect(mailsTo(vendor)).toHaveLength(1);
    for (const m of mailsToAnyOf(everyone)) expect(m.parsed.text ?? '').not.toContain('back order');
  }, 120000);
});
