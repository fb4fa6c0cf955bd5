import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/** Merging a request into another and splitting one off (issue 20 item 3), through the API, the mail intake and the SMTP sink. */
describe('merge and split', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let admin: string;
  const RUN = Date.now().toString(36);
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await createTestApp({ SMTP_URL: sink.url });
    admin = await t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  /** Posts a mail; the request it landed on. */
  async function mail(from: string, subject: string, text = 'Hello.', raw?: Buffer): Promise<number> {
    const res = await postRaw(t, raw ?? rawMail({ from, subject, text, messageId: `${RUN}.${Math.random()}@x.test` }));
    expect(res.status).toBe(200);
    expect(res.body.results[0].requestId).toEqual(expect.any(Number));
    return res.body.results[0].requestId as number;
  }
  const messagesOf = (requestId: number) =>
    sql<{ id: number; seq: number; kind: string; from_address: string; subject: string; created_at: Date }>(
      t,
      `SELECT id, seq, kind, from_address, subject, created_at FROM messages WHERE request_id = $1 ORDER BY seq`,
      [requestId],
    );
  const outboxCount = async () => Number((await sql<{ n: string }>(t, `SELECT count(*) AS n FROM outbox`))[0].n);
  /** Every queued mail handed to the sink. */
  const drained = async () => sink.waitFor(await outboxCount(), 15_000);
  const eventsOf = async (requestId: number) =>
    (await t.http().get(`/requests/${requestId}/events`).set(auth(admin))).body.items as Array<{
      type: string;
      data: Record<string, unknown>;
    }>;

  const withAttachment = (from: string, subject: string) =>
    Buffer.from(
      [
        `From: ${from}`,
        'To: support@desk.test',
        `Subject: ${subject}`,
        `Message-ID: <att.${RUN}@x.test>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Screenshot attached.',
        '--b',
        'Content-Type: text/plain; name="log.txt"',
        'Content-Disposition: attachment; filename="log.txt"',
        '',
        'error log',
        '--b--',
        '',
      ].join('\r\n'),
    );

  describe('merge', () => {
    let source: number;
    let target: number;

    beforeAll(async () => {
      source = await mail(
        'alice@customer.test',
        'Printer broken',
        '',
        withAttachment('alice@customer.test', 'Printer broken'),
      );
      target = await mail('bob@customer.test', 'Printer on floor 3');
      expect(await mail('alice@customer.test', `Re: [#${source}] Printer broken`, 'Still broken.')).toBe(source);
      await drained();
    });

    it('moves the messages with their attachments into the target in time order, closes the source with mergedIntoId and mails no one', async () => {
      const before = { source: await messagesOf(source), target: await messagesOf(target) };
      const mailsBefore = sink.mails.length;
      const outboxBefore = await outboxCount();

      const res = await t.http().post(`/requests/${source}/merge`).set(auth(admin)).send({ intoId: target });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: target, status: 'new', mergedIntoId: null });

      const after = await messagesOf(target);
      const expected = [...before.source, ...before.target].sort(
        (a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id - b.id,
      );
      expect(after.map((m) => m.id)).toEqual(expected.map((m) => m.id));
      expect(after.map((m) => m.seq)).toEqual(after.map((_, i) => i + 1));
      await expect(messagesOf(source)).resolves.toEqual([]);
      const [attachment] = await sql<{ request_id: number; filename: string }>(
        t,
        `SELECT m.request_id, a.filename FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.filename = 'log.txt'`,
      );
      expect(attachment).toEqual({ request_id: target, filename: 'log.txt' });
      const [row] = await sql<{ last_seq: number }>(t, `SELECT last_seq FROM requests WHERE id = $1`, [target]);
      expect(row.last_seq).toBe(after.length);

      const closed = await t.http().get(`/requests/${source}`).set(auth(admin));
      expect(closed.body).toMatchObject({ id: source, status: 'closed', mergedIntoId: target });
      expect(closed.body.closedAt).toEqual(expect.any(String));

      // The page the operator reads shows them too.
      const page = await t.http().get(`/requests/${target}/messages`).set(auth(admin));
      expect(page.body.items.map((m: { id: number }) => m.id)).toEqual(expected.map((m) => m.id));

      // No closing mail: nothing queued, nothing sent.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await outboxCount()).toBe(outboxBefore);
      expect(sink.mails.length).toBe(mailsBefore);
    });

    it('writes merged on the target and merged_into on the source, moves the history and adds the other customer as a participant', async () => {
      const targetEvents = await eventsOf(target);
      expect(targetEvents.filter((e) => e.type === 'created')).toHaveLength(2);
      expect(targetEvents.at(-1)).toMatchObject({ type: 'merged', data: { sourceId: source, messages: 3 } });
      const sourceEvents = await eventsOf(source);
      expect(sourceEvents.map((e) => e.type)).toEqual(['merged_into']);
      expect(sourceEvents[0].data).toMatchObject({ targetId: target });
      await expect(
        sql(t, `SELECT email, source FROM request_participants WHERE request_id = $1`, [target]),
      ).resolves.toEqual([{ email: 'alice@customer.test', source: 'merge' }]);
    });

    it("files a reply to the source's token on the target", async () => {
      expect(await mail('alice@customer.test', `Re: [#${source}] Printer broken`, 'Any news?')).toBe(target);
      const last = (await messagesOf(target)).at(-1)!;
      expect(last).toMatchObject({ from_address: 'alice@customer.test', seq: (await messagesOf(target)).length });
    });

    it('answers 400, 404 and 409 for the wrong merges', async () => {
      const post = (id: number | string, body: unknown) =>
        t
          .http()
          .post(`/requests/${id}/merge`)
          .set(auth(admin))
          .send(body as object);
      expect((await post(target, { intoId: target })).status).toBe(400);
      expect((await post(target, { intoId: 'x' })).status).toBe(400);
      expect((await post(target, {})).status).toBe(400);
      expect((await post(target, { intoId: 999999 })).status).toBe(404);
      expect((await post(999999, { intoId: target })).status).toBe(404);
      expect((await post(source, { intoId: target })).status).toBe(409); // already merged
      expect((await post(target, { intoId: source })).status).toBe(409); // into a merged (closed) request
      const reply = await t.http().post(`/requests/${source}/messages`).set(auth(admin)).send({ text: 'Hi' });
      expect(reply.status).toBe(409);
    });

    it('merges a closed duplicate into an open request', async () => {
      const dup = await mail(`dup.${RUN}@customer.test`, 'Duplicate');
      await t.http().post(`/requests/${dup}/assign`).set(auth(admin)).send({});
      expect((await t.http().post(`/requests/${dup}/close`).set(auth(admin))).status).toBe(200);
      const res = await t.http().post(`/requests/${dup}/merge`).set(auth(admin)).send({ intoId: target });
      expect(res.status).toBe(200);
      const gone = await t.http().get(`/requests/${dup}`).set(auth(admin));
      expect(gone.body).toMatchObject({ status: 'closed', mergedIntoId: target });
    });

    it('answers 404 to an operator in a group for a request of another group, either side', async () => {
      const group = await t
        .http()
        .post('/groups')
        .set(auth(admin))
        .send({ name: `G${RUN}` });
      expect(group.status).toBe(201);
      const op = await t.createOperator({ name: 'Gina', email: `gina.${RUN}@desk.test`, password: 'gina-password-1' });
      const set = await t
        .http()
        .patch(`/operators/${op.id}`)
        .set(auth(admin))
        .send({ groupIds: [group.body.id] });
      expect(set.status).toBe(200);
      const mine = await mail(`grouped.${RUN}@customer.test`, 'In the group');
      await sql(t, `UPDATE requests SET group_id = $2 WHERE id = $1`, [mine, group.body.id]);
      const before = await messagesOf(mine);
      // target is in no group: the operator cannot see it.
      const into = await t.http().post(`/requests/${mine}/merge`).set(auth(op.token)).send({ intoId: target });
      expect(into.status).toBe(404);
      const from = await t.http().post(`/requests/${target}/merge`).set(auth(op.token)).send({ intoId: mine });
      expect(from.status).toBe(404);
      const split = await t.http().post(`/requests/${target}/split`).set(auth(op.token)).send({ messageId: 1 });
      expect(split.status).toBe(404);
      await expect(messagesOf(mine)).resolves.toEqual(before);
    });
  });

  describe('split', () => {
    let source: number;

    beforeAll(async () => {
      source = await mail('carol@customer.test', 'Login fails');
      expect(await mail('carol@customer.test', `Re: [#${source}] Also: invoice wrong`, 'Second topic.')).toBe(source);
      expect(await mail('carol@customer.test', `Re: [#${source}] Login fails`, 'Third.')).toBe(source);
      await drained();
    });

    it('answers 400 and 409 for the wrong splits', async () => {
      const post = (body: unknown) =>
        t
          .http()
          .post(`/requests/${source}/split`)
          .set(auth(admin))
          .send(body as object);
      const messages = await messagesOf(source);
      const autoReply = messages.find((m) => m.kind === 'auto_reply')!;
      const [other] = await sql<{ id: number }>(t, `SELECT id FROM messages WHERE request_id <> $1 LIMIT 1`, [source]);
      expect((await post({ messageId: autoReply.id })).status).toBe(400);
      expect((await post({ messageId: other.id })).status).toBe(400);
      expect((await post({ messageId: 'x' })).status).toBe(400);
      expect((await post({ messageId: messages[1].id, following: 'yes' })).status).toBe(400);
      expect((await post({ messageId: messages[0].id, following: true })).status).toBe(409);
      await expect(messagesOf(source)).resolves.toEqual(messages);
    });

    it('moves a customer message and the ones after it into a new request, with events on both and no mail', async () => {
      const before = await messagesOf(source);
      const at = before.find((m) => m.subject.includes('invoice'))!;
      const moving = before.filter((m) => m.seq >= at.seq);
      const staying = before.filter((m) => m.seq < at.seq);
      const outboxBefore = await outboxCount();

      const res = await t
        .http()
        .post(`/requests/${source}/split`)
        .set(auth(admin))
        .send({ messageId: at.id, following: true });
      expect(res.status).toBe(201);
      const created = res.body as { id: number };
      expect(res.body).toMatchObject({
        status: 'new',
        subject: 'Also: invoice wrong',
        splitFromId: source,
        customer: { email: 'carol@customer.test' },
      });
      expect(res.body.firstResponseDueAt === null || typeof res.body.firstResponseDueAt === 'string').toBe(true);

      const moved = await messagesOf(created.id);
      expect(moved.map((m) => m.id)).toEqual(moving.map((m) => m.id));
      expect(moved.map((m) => m.seq)).toEqual(moved.map((_, i) => i + 1));
      const kept = await messagesOf(source);
      expect(kept.map((m) => m.id)).toEqual(staying.map((m) => m.id));
      expect(kept.map((m) => m.seq)).toEqual(kept.map((_, i) => i + 1));
      const [counts] = await sql<{ a: number; b: number }>(
        t,
        `SELECT (SELECT last_seq FROM requests WHERE id = $1) AS a, (SELECT last_seq FROM requests WHERE id = $2) AS b`,
        [source, created.id],
      );
      expect(counts).toEqual({ a: kept.length, b: moved.length });

      expect((await eventsOf(source)).at(-1)).toMatchObject({
        type: 'split',
        data: { newRequestId: created.id, messageIds: moving.map((m) => m.id), messages: moving.length },
      });
      expect(await eventsOf(created.id)).toEqual([
        expect.objectContaining({ type: 'split_from', data: expect.objectContaining({ sourceId: source }) }),
      ]);
      await new Promise((r) => setTimeout(r, 500));
      expect(await outboxCount()).toBe(outboxBefore);

      // The customer's open request is still the source: a new mail without a token lands there.
      expect(await mail('carol@customer.test', 'Something else')).toBe(source);
      // A reply to the split request's token lands on it.
      expect(await mail('carol@customer.test', `Re: [#${created.id}] invoice`)).toBe(created.id);
    });
  });
});

/**
 * Concurrent merges on PostgreSQL: random pairs in both directions, all at once. Every message ends
 * in exactly one request, every conversation is numbered 1..n, and no merge fails with a 500.
 */
describe('concurrent merges', () => {
  let t: TestApp;
  let admin: string;
  const RUN = Date.now().toString(36);

  beforeAll(async () => {
    t = await createTestApp({}, 'postgres');
    admin = await t.adminToken();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('loses and duplicates no message, keeps every conversation gapless and answers 200 or 409 only', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const from = `c${i}.${RUN}@customer.test`;
      const res = await postRaw(t, rawMail({ from, subject: `Topic ${i}`, messageId: `m${i}.${RUN}@x.test` }));
      ids.push(res.body.results[0].requestId as number);
      await postRaw(t, rawMail({ from, subject: `Re: [#${ids[i]}] Topic ${i}`, messageId: `n${i}.${RUN}@x.test` }));
    }
    const all = await sql<{ id: number }>(t, `SELECT id FROM messages WHERE request_id = ANY ($1::int[])`, [ids]);
    expect(all.length).toBeGreaterThanOrEqual(20);

    const merge = (a: number, b: number) =>
      t.http().post(`/requests/${a}/merge`).set('Authorization', `Bearer ${admin}`).send({ intoId: b });
    // One source into two targets at once: exactly one wins.
    const race = await Promise.all([merge(ids[5], ids[6]), merge(ids[5], ids[7])]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 409]);

    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      const pairs: Array<[number, number]> = [];
      // Opposite directions on one pair, one source into two targets, and random pairs.
      pairs.push([ids[0], ids[1]], [ids[1], ids[0]], [ids[2], ids[3]], [ids[2], ids[4]]);
      for (let i = 0; i < 12; i++) {
        const a = ids[Math.floor(Math.random() * ids.length)];
        const b = ids[Math.floor(Math.random() * ids.length)];
        if (a !== b) pairs.push([a, b]);
      }
      const results = await Promise.all(pairs.map(([a, b]) => merge(a, b)));
      statuses.push(...results.map((r) => r.status));
    }
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(statuses).toContain(200);

    const after = await sql<{ id: number; request_id: number; seq: number }>(
      t,
      `SELECT id, request_id, seq FROM messages WHERE id = ANY ($1::int[]) ORDER BY request_id, seq`,
      [all.map((m) => m.id)],
    );
    expect(after.map((m) => m.id).sort((a, b) => a - b)).toEqual(all.map((m) => m.id).sort((a, b) => a - b));
    const byRequest = new Map<number, number[]>();
    for (const m of after) byRequest.set(m.request_id, [...(byRequest.get(m.request_id) ?? []), m.seq]);
    const requests = await sql<{ id: number; last_seq: number; merged_into_id: number | null; status: string }>(
      t,
      `SELECT id, last_seq, merged_into_id, status FROM requests WHERE id = ANY ($1::int[])`,
      [ids],
    );
    for (const r of requests) {
      const seqs = byRequest.get(r.id) ?? [];
      expect({ id: r.id, seqs }).toEqual({ id: r.id, seqs: seqs.map((_, i) => i + 1) });
      expect({ id: r.id, lastSeq: r.last_seq }).toEqual({ id: r.id, lastSeq: seqs.length });
      if (r.merged_into_id !== null) {
        expect(seqs).toEqual([]);
        expect(r.status).toBe('closed');
      }
    }
    // Some request still holds messages and is not merged: the merges form trees, never a cycle.
    expect(requests.filter((r) => r.merged_into_id === null).length).toBeGreaterThanOrEqual(1);
  });
});
