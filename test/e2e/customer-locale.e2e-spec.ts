import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/**
 * The customer's language (issue 20): taken from the first mail's Content-Language, set by an
 * admin, and the language of the auto-replies (ru ships, others fall back to English).
 */
forEachDatabase("auto-replies in the customer's language", (kind) => {
  let t: TestApp;
  let sink: SmtpSink;
  let auth: { Authorization: string };

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, AUTO_REPLY_LIMIT_PER_HOUR: '50' }, kind);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  const mailsTo = (to: string) => sink.mails.filter((m) => m.envelope.to.includes(to));

  /** A new request from `from` with these headers; its id once its creation auto-reply arrived. */
  async function open(from: string, id: string, headers: Record<string, string> = {}): Promise<number> {
    const before = mailsTo(from).length;
    const res = await postRaw(t, rawMail({ from, subject: 'Printer', messageId: `${id}@customer.test`, headers }));
    expect(res.body.results[0].status).toBe('created');
    await waitFor(async () => mailsTo(from).length === before + 1);
    return res.body.results[0].requestId as number;
  }

  async function customer(email: string): Promise<{ id: number; locale: string | null }> {
    const res = await t.http().get('/customers').query({ q: email }).set(auth).expect(200);
    return res.body.items[0];
  }

  it('answers a mail with Content-Language: ru in Russian, in UTF-8, and remembers the language', async () => {
    const ivan = 'ivan@customer.test';
    const requestId = await open(ivan, 'ru1', { 'Content-Language': 'ru' });
    const [mail] = mailsTo(ivan);
    expect(mail.parsed.subject).toBe(`[#${requestId}] Ваше обращение принято: Printer`);
    expect(mail.parsed.text).toContain('Здравствуйте');
    expect(mail.parsed.text).toContain(`номером ${requestId}`);
    expect(mail.parsed.html).toContain('Спасибо, что написали нам');
    expect(String(mail.raw)).toMatch(/charset=utf-8/i);
    await expect(customer(ivan)).resolves.toMatchObject({ locale: 'ru' });
  });

  it('answers in English without the header, with en, and with a language that has no templates (de)', async () => {
    for (const [who, headers] of [
      ['nobody@customer.test', {}],
      ['emma@customer.test', { 'Content-Language': 'en-GB' }],
      ['hans@customer.test', { 'Accept-Language': 'de-DE, de;q=0.9' }],
    ] as const) {
      const requestId = await open(who, who.split('@')[0], headers);
      expect(mailsTo(who)[0].parsed.subject).toBe(`[#${requestId}] We received your request: Printer`);
      expect(mailsTo(who)[0].parsed.text).toContain('Thank you for writing to us');
    }
    await expect(customer('nobody@customer.test')).resolves.toMatchObject({ locale: null });
    await expect(customer('emma@customer.test')).resolves.toMatchObject({ locale: 'en-GB' });
    await expect(customer('hans@customer.test')).resolves.toMatchObject({ locale: 'de-DE' });
  });

  /** Takes and closes the request; resolves once the customer `who` got both mails. */
  async function takeAndClose(requestId: number, who: string): Promise<void> {
    const before = mailsTo(who).length;
    await t.http().post(`/requests/${requestId}/assign`).set(auth).send({}).expect(200);
    await t.http().post(`/requests/${requestId}/close`).set(auth).expect(200);
    await waitFor(async () => mailsTo(who).length === before + 2);
  }

  it('keeps the language of the customer when a later mail states another', async () => {
    const first = await customer('ivan@customer.test');
    const { body } = await t.http().get(`/customers/${first.id}`).set(auth).expect(200);
    await takeAndClose(body.requests[0].id as number, 'ivan@customer.test');
    expect(mailsTo('ivan@customer.test').at(-1)!.parsed.subject).toContain('Ваше обращение закрыто');
    await open('ivan@customer.test', 'ru2', { 'Content-Language': 'en' });
    await expect(customer('ivan@customer.test')).resolves.toMatchObject({ locale: 'ru' });
    expect(mailsTo('ivan@customer.test').at(-1)!.parsed.subject).toContain('Ваше обращение');
  });

  it('lets an admin set the language (the closing mail is then Russian), clear it, and refuses a bad tag', async () => {
    const who = 'olga@customer.test';
    const requestId = await open(who, 'olga1');
    expect(mailsTo(who)[0].parsed.subject).toContain('We received your request');
    const { id } = await customer(who);
    const set = await t.http().patch(`/customers/${id}`).set(auth).send({ locale: 'RU' }).expect(200);
    expect(set.body.locale).toBe('ru');
    await t
      .http()
      .get(`/customers/${id}`)
      .set(auth)
      .expect(200)
      .expect((r) => expect(r.body.locale).toBe('ru'));

    await takeAndClose(requestId, who);
    expect(mailsTo(who)[1].parsed.subject).toBe(`[#${requestId}] Ваше обращение взято в работу: Printer`);
    const closing = mailsTo(who)[2];
    expect(closing.parsed.subject).toBe(`[#${requestId}] Ваше обращение закрыто: Printer`);
    expect(closing.parsed.text).toContain('закрыто');
    expect(closing.parsed.text).toContain('(отлично)');

    for (const locale of ['english', 'ru_RU', '', 'x', 42, 'ru-'.padEnd(60, 'a')]) {
      const bad = await t.http().patch(`/customers/${id}`).set(auth).send({ locale }).expect(400);
      expect(JSON.stringify(bad.body)).toMatch(/locale/);
    }
    const cleared = await t.http().patch(`/customers/${id}`).set(auth).send({ locale: null }).expect(200);
    expect(cleared.body.locale).toBeNull();
  });
});
