import { createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail } from '../setup/mail';

/**
 * The new text without the quotes (issue 20): a Gmail-style reply through the webhook is stored
 * whole (`text`) and shown without the quote and the signature (`visibleText`); messages with
 * nothing to cut and our own messages have `visibleText` equal to `text`.
 */
forEachDatabase('the new text without the quotes', (kind) => {
  let t: TestApp;
  let auth: { Authorization: string };

  beforeAll(async () => {
    t = await createTestApp({}, kind);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const reply = [
    'Still broken after the restart.',
    '',
    'Alice',
    '',
    '-- ',
    'Alice Example | Accounting',
    '',
    'On Mon, Dec 7, 2026 at 10:02 AM Support <support@desk.test> wrote:',
    '',
    '> Hello Alice,',
    '> please restart the printer.',
    '>',
    '> On Sun, Dec 6, 2026 at 9:00 AM Alice <alice@customer.test> wrote:',
    '>> The printer on floor 3 shows E42.',
  ].join('\r\n');

  it('GET messages: visibleText without the quote and the signature, text with them', async () => {
    const first = await postRaw(
      t,
      rawMail({
        from: 'alice@customer.test',
        subject: 'Printer',
        messageId: 'vt-1@customer.test',
        text: 'The printer on floor 3 shows E42.',
      }),
    );
    expect(first.body.results[0].status).toBe('created');
    const requestId = first.body.results[0].requestId as number;
    const second = await postRaw(
      t,
      rawMail({
        from: 'alice@customer.test',
        subject: 'Re: Printer',
        messageId: 'vt-2@customer.test',
        headers: { 'In-Reply-To': '<vt-1@customer.test>' },
        text: reply,
      }),
    );
    expect(second.body.results[0]).toMatchObject({ status: 'appended', requestId });

    const page = await t.http().get(`/requests/${requestId}/messages`).set(auth).expect(200);
    const items = page.body.items as Array<{
      id: number;
      direction: string;
      kind: string;
      text: string;
      visibleText: string;
    }>;
    const [opening] = items;
    expect(opening.visibleText).toBe(opening.text);
    const answer = items.find((m) => m.direction === 'in' && m.text.includes('Still broken'))!;
    expect(answer.text).toContain('> please restart the printer.');
    expect(answer.text).toContain('Alice Example | Accounting');
    expect(answer.visibleText).toBe('Still broken after the restart.\n\nAlice');
    for (const own of items.filter((m) => m.direction === 'out')) expect(own.visibleText).toBe(own.text);

    const one = await t.http().get(`/requests/${requestId}/messages/${answer.id}`).set(auth).expect(200);
    expect(one.body).toMatchObject({ visibleText: 'Still broken after the restart.\n\nAlice' });
    expect(one.body.text).toContain('wrote:');

    const note = await t
      .http()
      .post(`/requests/${requestId}/notes`)
      .set(auth)
      .send({ text: 'Called her.\n\n-- \nBob' })
      .expect(201);
    expect(note.body.visibleText).toBe(note.body.text);
  });
});
