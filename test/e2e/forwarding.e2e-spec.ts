import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/** A customer's mail with one attachment (a small PNG). */
function mailWithAttachment(o: { from: string; subject: string; messageId: string }): Buffer {
  return Buffer.from(
    [
      `From: ${o.from}`,
      'To: support@desk.test',
      `Subject: ${o.subject}`,
      'Date: Wed, 25 Nov 2026 09:00:00 +0000',
      `Message-ID: <${o.messageId}>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The printer on floor 3 shows error E42. Photo attached.',
      '--b1',
      'Content-Type: image/png; name="jam.png"',
      'Content-Disposition: attachment; filename="jam.png"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('not really a png, but bytes').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

/**
 * Forwarding to a third party (issue 20): the forward reaches the vendor only (no customer address
 * in its envelope or header), carries the chosen messages' attachments, and the vendor's answers
 * come back as side messages of the request, never mailed to the customer.
 */
describe('forwarding a request to a third party', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let auth: { Authorization: string };
  const alice = 'alice@customer.test';
  const vendor = 'vendor@vendors.test';
  let requestId: number;
  let customerMessageId: number;
  let operatorMessageId: number;
  let forwardMessageId: string;
  let sideThreadId: number;
  let token: string;

  const mailsTo = (to: string) => sink.mails.filter((m) => m.envelope.to.includes(to));
  const headerBlock = (raw: Buffer) => raw.toString('utf8').split('\r\n\r\n')[0];
  const messages = async () =>
    (await t.http().get(`/requests/${requestId}/messages`).set(auth).expect(200)).body.items as Array<{
      id: number;
      kind: string;
      direction: string;
      messageId: string;
      sideThreadId: number | null;
      from: string;
      attachments: Array<{ filename: string }>;
    }>;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url, OUTBOX_RETRY_BASE_MS: '100' });
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
    const res = await postRaw(
      t,
      mailWithAttachment({ from: `Alice <${alice}>`, subject: 'Printer jammed', messageId: 'a1@customer.test' }),
    );
    requestId = res.body.results[0].requestId as number;
    await waitFor(async () => mailsTo(alice).length === 1); // the creation auto-reply
    const posted = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .send({ text: 'We are asking the vendor.' })
      .expect(201);
    operatorMessageId = posted.body.id;
    await waitFor(async () => mailsTo(alice).length === 2);
    customerMessageId = (await messages()).find((m) => m.kind === 'customer')!.id;
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('mails the chosen messages with their attachments to the vendor only, under a side token', async () => {
    const res = await t
      .http()
      .post(`/requests/${requestId}/forward`)
      .set(auth)
      .send({ to: vendor, text: 'Could you look at this printer?', messageIds: [customerMessageId, operatorMessageId] })
      .expect(201);
    expect(res.body).toMatchObject({ kind: 'side', direction: 'out', requestId, to: [vendor], cc: [] });
    expect(res.body.sideThreadId).toEqual(expect.any(Number));
    sideThreadId = res.body.sideThreadId;
    forwardMessageId = res.body.messageId;

    const [mail] = await waitFor(async () => mailsTo(vendor).length === 1 && mailsTo(vendor));
    expect(mail.envelope.to).toEqual([vendor]);
    expect(headerBlock(mail.raw)).not.toContain(alice);
    expect(mail.parsed.cc).toBeUndefined();
    expect(mail.parsed.messageId).toBe(`<${forwardMessageId}>`);
    expect(mail.parsed.inReplyTo).toBeUndefined();
    const subject = mail.parsed.subject ?? '';
    const marker = new RegExp(`^Fwd: Printer jammed \\[#${requestId}-f:([a-z2-7]{16})\\]$`).exec(subject);
    expect(marker).not.toBeNull();
    token = marker![1];
    expect(subject).not.toContain(`[#${requestId}]`);
    expect(mail.parsed.attachments.map((a) => a.filename)).toEqual(['jam.png']);
    expect(mail.parsed.text).toContain('Could you look at this printer?');
    expect(mail.parsed.text).toContain('error E42');
    expect(mail.parsed.text).toContain('We are asking the vendor.');
    expect(mail.parsed.text).toMatch(/Subject: Printer jammed/);
    expect(mail.parsed.html).toContain('error E42');
    expect(mailsTo(alice)).toHaveLength(2);

    const events = await t.http().get(`/requests/${requestId}/events`).set(auth).expect(200);
    const forwarded = events.body.items.find((e: { type: string }) => e.type === 'forwarded');
    expect(forwarded.data).toMatchObject({
      sideThreadId,
      to: [vendor],
      messageIds: [customerMessageId, operatorMessageId],
    });
  });

  it('stores the vendor’s answers as side messages, by Message-ID and by subject token, mailing nobody', async () => {
    const before = sink.mails.length;
    const r1 = await postRaw(
      t,
      rawMail({
        from: `Vendor Support <${vendor}>`,
        subject: 'Re: Fwd: Printer jammed',
        messageId: 'v1@vendors.test',
        text: 'Replace the fuser.',
        headers: { 'In-Reply-To': `<${forwardMessageId}>`, References: `<${forwardMessageId}>` },
      }),
    );
    expect(r1.body.results[0]).toMatchObject({ status: 'appended', requestId });
    const r2 = await postRaw(
      t,
      rawMail({
        from: vendor,
        subject: `Re: Fwd: Printer jammed [#${requestId}-f:${token.toUpperCase()}]`,
        messageId: 'v2@vendors.test',
        text: 'Part shipped.',
      }),
    );
    expect(r2.body.results[0]).toMatchObject({ status: 'appended', requestId });
    const side = (await messages()).filter((m) => m.kind === 'side' && m.direction === 'in');
    expect(side.map((m) => [m.messageId, m.sideThreadId, m.from])).toEqual([
      ['v1@vendors.test', sideThreadId, vendor],
      ['v2@vendors.test', sideThreadId, vendor],
    ]);
    const events = await t.http().get(`/requests/${requestId}/events`).set(auth).expect(200);
    expect(events.body.items.filter((e: { type: string }) => e.type === 'side_message')).toHaveLength(2);
    const participants = await sql(t, `SELECT email FROM request_participants WHERE request_id = $1`, [requestId]);
    expect(participants).toEqual([]);
    await new Promise((r) => setTimeout(r, 700));
    expect(sink.mails.length).toBe(before);
  });

  it('does not take a forged answer from another address into the side thread', async () => {
    const res = await postRaw(
      t,
      rawMail({
        from: 'mallory@evil.test',
        subject: `Re: Fwd: Printer jammed [#${requestId}-f:${token}]`,
        messageId: 'm1@evil.test',
        headers: { 'In-Reply-To': `<${forwardMessageId}>` },
      }),
    );
    expect(res.body.results[0].status).toBe('created');
    expect(res.body.results[0].requestId).not.toBe(requestId);
    const rows = await sql(t, `SELECT kind, request_id FROM messages WHERE message_id = 'm1@evil.test'`);
    expect(rows).toEqual([{ kind: 'customer', request_id: res.body.results[0].requestId }]);
  });

  it('threads an operator’s follow-up under the vendor’s latest answer, and the customer’s replies under hers', async () => {
    const follow = await t
      .http()
      .post(`/requests/${requestId}/side-threads/${sideThreadId}/messages`)
      .set(auth)
      .send({ text: 'When will it arrive?' })
      .expect(201);
    expect(follow.body).toMatchObject({ kind: 'side', sideThreadId, to: [vendor], inReplyTo: 'v2@vendors.test' });
    const mail = (await waitFor(async () => mailsTo(vendor).length === 2 && mailsTo(vendor)))[1];
    expect(mail.envelope.to).toEqual([vendor]);
    expect(mail.parsed.inReplyTo).toBe('<v2@vendors.test>');
    expect(mail.parsed.subject).toContain(`[#${requestId}-f:${token}]`);
    expect(headerBlock(mail.raw)).not.toContain(alice);

    await t.http().post(`/requests/${requestId}/messages`).set(auth).send({ text: 'The part is coming.' }).expect(201);
    const toAlice = (await waitFor(async () => mailsTo(alice).length === 3 && mailsTo(alice)))[2];
    expect(toAlice.parsed.inReplyTo).toBe('<a1@customer.test>');
    expect(toAlice.parsed.text).not.toContain('Replace the fuser');

    await t.http().post(`/requests/${requestId}/side-threads/99999/messages`).set(auth).send({ text: 'x' }).expect(404);
  });

  it('forwards the customer conversation by default (no notes, no side messages)', async () => {
    await t.http().post(`/requests/${requestId}/notes`).set(auth).send({ text: 'secret note' }).expect(201);
    const res = await t
      .http()
      .post(`/requests/${requestId}/forward`)
      .set(auth)
      .send({ to: ['other@vendors.test'], cc: ['boss@vendors.test'], text: 'FYI' })
      .expect(201);
    expect(res.body).toMatchObject({ to: ['other@vendors.test'], cc: ['boss@vendors.test'] });
    const mail = (
      await waitFor(async () => mailsTo('other@vendors.test').length === 1 && mailsTo('other@vendors.test'))
    )[0];
    expect(mail.envelope.to.sort()).toEqual(['boss@vendors.test', 'other@vendors.test']);
    expect(mail.parsed.text).toContain('error E42');
    expect(mail.parsed.text).toContain('The part is coming.');
    expect(mail.parsed.text).not.toContain('secret note');
    expect(mail.parsed.text).not.toContain('Replace the fuser');
    expect(mail.parsed.attachments.map((a) => a.filename)).toEqual(['jam.png']);
  });

  it('refuses bad recipients and messages of another request (400), and other groups’ requests (404)', async () => {
    const other = await postRaw(
      t,
      rawMail({ from: 'bob@customer.test', subject: 'Other', messageId: 'b1@customer.test' }),
    );
    const otherId = other.body.results[0].requestId as number;
    const [{ id: otherMessage }] = await sql<{ id: number }>(t, `SELECT id FROM messages WHERE request_id = $1`, [
      otherId,
    ]);
    const forward = (id: number, body: object, headers = auth) =>
      t.http().post(`/requests/${id}/forward`).set(headers).send(body);
    await forward(requestId, { to: vendor, text: 'x', messageIds: [otherMessage] }).expect(400);
    await forward(requestId, { to: 'support@desk.test', text: 'x' }).expect(400);
    await forward(requestId, { to: 'SUPPORT@desk.test', text: 'x' }).expect(400);
    await forward(requestId, { to: 'not an address', text: 'x' }).expect(400);
    await forward(requestId, { to: [], text: 'x' }).expect(400);
    await forward(requestId, { to: vendor }).expect(400);
    await forward(requestId, { to: vendor, text: 'x', messageIds: ['a'] }).expect(400);
    await forward(999999, { to: vendor, text: 'x' }).expect(404);

    const group = await t.http().post('/groups').set(auth).send({ name: 'Billing' }).expect(201);
    const op = await t.createOperator({ name: 'Bea', email: 'bea@desk.test', password: 'bea-password-1' });
    await t
      .http()
      .patch(`/operators/${op.id}`)
      .set(auth)
      .send({ groupIds: [group.body.id] })
      .expect(200);
    await forward(requestId, { to: vendor, text: 'x' }, { Authorization: `Bearer ${op.token}` }).expect(404);
    await t
      .http()
      .post(`/requests/${requestId}/side-threads/${sideThreadId}/messages`)
      .set({ Authorization: `Bearer ${op.token}` })
      .send({ text: 'x' })
      .expect(404);
  });

  it('forwards a closed request too, and stores a late answer on it without reopening it', async () => {
    await sql(t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE id = $1`, [requestId]);
    const res = await t
      .http()
      .post(`/requests/${requestId}/forward`)
      .set(auth)
      .send({ to: 'late@vendors.test', text: 'For your records', messageIds: [customerMessageId] })
      .expect(201);
    const answer = await postRaw(
      t,
      rawMail({
        from: 'late@vendors.test',
        subject: 'Re: thanks',
        messageId: 'l1@vendors.test',
        headers: { 'In-Reply-To': `<${res.body.messageId}>` },
      }),
    );
    expect(answer.body.results[0]).toMatchObject({ status: 'appended', requestId });
    const [row] = await sql<{ status: string }>(t, `SELECT status FROM requests WHERE id = $1`, [requestId]);
    expect(row.status).toBe('closed');
  });
});
