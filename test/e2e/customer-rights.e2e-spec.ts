import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlobsService } from '../../src/blobs/blobs.service';
import { binaryBody, createTestApp, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql } from '../setup/mail';

/**
 * The customer's rights (issue 22 item 5, docs/privacy.md): GET /customers/:id/export gives
 * everything stored about a customer as one streamed zip (read back with the system's unzip);
 * DELETE /customers/:id erases them in one transaction, keeps an audit record with ids and counts
 * only, leaves the reports' totals as they were, and mail from the address later starts fresh.
 */
forEachDatabase("the customer's rights: export and erasure", (kind) => {
  let t: TestApp;
  let admin: { Authorization: string };
  let tmp: string;

  beforeAll(async () => {
    t = await createTestApp({}, kind);
    admin = { Authorization: `Bearer ${await t.adminToken()}` };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-rights-'));
    // A webhook (never reachable) so that deliveries about the customer exist to be erased.
    await sql(t, `INSERT INTO webhooks (url, events, secret) VALUES ('http://127.0.0.1:9/hook', $1, 's')`, [
      ['request.created', 'message.received', 'message.sent', 'request.closed', 'request.merged'],
    ]);
  });
  afterAll(async () => {
    await t?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A mail with one attachment (`bytes`, base64) from `from`. */
  function mailWithFile(
    from: string,
    subject: string,
    messageId: string,
    name: string,
    bytes: Buffer,
    extra: string[] = [],
  ) {
    return Buffer.from(
      [
        `From: ${from}`,
        'To: support@desk.test',
        ...extra,
        `Subject: ${subject}`,
        `Message-ID: <${messageId}>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        '',
        `Body of ${subject}.`,
        '--b',
        `Content-Type: application/octet-stream; name="${name}"`,
        `Content-Disposition: attachment; filename="${name}"`,
        'Content-Transfer-Encoding: base64',
        '',
        bytes.toString('base64').replace(/.{76}/g, '$&\r\n'),
        '--b--',
        '',
      ].join('\r\n'),
    );
  }

  async function ingest(raw: Buffer): Promise<{ status: string; requestId: number }> {
    const res = await postRaw(t, raw);
    expect(res.status).toBe(200);
    return res.body.results[0];
  }

  async function customerId(email: string): Promise<number> {
    const [row] = await sql<{ id: number }>(t, 'SELECT id FROM customers WHERE email = $1', [email]);
    return row.id;
  }

  async function close(requestId: number): Promise<void> {
    await t.http().post(`/requests/${requestId}/assign`).set(admin).send({}).expect(200);
    await t.http().post(`/requests/${requestId}/close`).set(admin).expect(200);
  }

  /** A quarantined raw mail from `from`, as the pipeline keeps one it could not read. */
  async function quarantine(from: string, key: string): Promise<{ id: string; raw: Buffer }> {
    const raw = Buffer.from(
      `From: ${from}\r\nSubject: broken\r\nContent-Type: multipart/mixed\r\n\r\n\u0000garbage ${key}\r\n`,
    );
    const [row] = await sql<{ id: string }>(
      t,
      `INSERT INTO inbound_mail (source, dedupe_key, from_address, subject, size, raw, status, reason, processed_at)
         VALUES ('webhook', $1, $2, 'broken', $3, $4, 'quarantined', 'unreadable', now()) RETURNING id`,
      [`test:${key}`, from, raw.length, raw],
    );
    return { id: String(row.id), raw };
  }

  /** GET the export into a file; its path. */
  async function download(id: number, name: string): Promise<string> {
    const res = await t
      .http()
      .get(`/customers/${id}/export`)
      .set(admin)
      .buffer(true)
      .parse(binaryBody);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="customer-${id}.zip"`);
    const file = path.join(tmp, name);
    fs.writeFileSync(file, res.body as Buffer);
    return file;
  }

  const list = (zip: string): string[] =>
    execFileSync('zipinfo', ['-1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const entry = (zip: string, name: string): Buffer =>
    execFileSync('unzip', ['-p', zip, name], { maxBuffer: 256 * 1024 * 1024 });

  it('exports a customer with two requests, an attachment and a quarantined mail; the bytes match', async () => {
    const file = crypto.randomBytes(70_000);
    const first = await ingest(
      mailWithFile('Carol <carol@export.test>', 'Printer', 'carol-1@export.test', 'scan.bin', file),
    );
    expect(first.status).toBe('created');
    await close(first.requestId);
    const second = await ingest(
      rawMail({ from: 'carol@export.test', subject: 'Scanner', messageId: 'carol-2@export.test' }),
    );
    expect(second.status).toBe('created');
    await t
      .http()
      .put(`/requests/${second.requestId}/tags`)
      .set(admin)
      .send({ tags: ['hardware'] });
    const quarantined = await quarantine('carol@export.test', 'carol-q');
    const id = await customerId('carol@export.test');

    const zip = await download(id, 'carol.zip');
    const names = list(zip);
    expect(names[0]).toBe('README.txt');
    expect(names).toEqual(
      expect.arrayContaining([
        'customer.json',
        `requests/${first.requestId}/request.json`,
        `requests/${second.requestId}/request.json`,
        `requests/${first.requestId}/messages/1.json`,
        `requests/${second.requestId}/messages/1.json`,
        'raw-mail/index.json',
        `raw-mail/${quarantined.id}.eml`,
      ]),
    );
    expect(JSON.parse(entry(zip, 'customer.json').toString())).toMatchObject({
      id,
      email: 'carol@export.test',
      name: 'Carol',
    });
    const request = JSON.parse(entry(zip, `requests/${second.requestId}/request.json`).toString());
    expect(request).toMatchObject({ id: second.requestId, subject: 'Scanner', customer_id: id });
    expect(request.events.length).toBeGreaterThan(0);
    const message = JSON.parse(entry(zip, `requests/${first.requestId}/messages/1.json`).toString());
    expect(message).toMatchObject({
      from_address: 'carol@export.test',
      subject: 'Printer',
      message_id: 'carol-1@export.test',
    });
    expect(message.text).toContain('Body of Printer.');
    expect(message.attachments).toHaveLength(1);
    // The attachment's bytes, and the raw mails as received.
    expect(entry(zip, message.attachments[0].file).equals(file)).toBe(true);
    expect(entry(zip, `raw-mail/${quarantined.id}.eml`).equals(quarantined.raw)).toBe(true);
    // A raw mail lives in the blob store (docs/storage.md), named by its row.
    const stored = await sql<{ id: string; raw_sha256: string }>(
      t,
      'SELECT id, raw_sha256 FROM inbound_mail WHERE request_id = $1',
      [first.requestId],
    );
    expect(stored).toHaveLength(1);
    const storedRaw = await t.app.get(BlobsService).read(stored[0].raw_sha256);
    expect(storedRaw.toString()).toContain('Message-ID: <carol-1@export.test>');
    expect(entry(zip, `raw-mail/${stored[0].id}.eml`).equals(storedRaw)).toBe(true);
    const readme = entry(zip, 'README.txt').toString();
    expect(readme).toContain(`raw-mail/${quarantined.id}.eml`);
    expect(readme).toContain(message.attachments[0].file);
  });

  it('answers 403 to an operator and 404 for an unknown customer', async () => {
    const op = await t.createOperator({ name: 'Op', email: 'op@rights.test', password: 'op-password-1' });
    const id = await customerId('carol@export.test');
    await t.http().get(`/customers/${id}/export`).set('Authorization', `Bearer ${op.token}`).expect(403);
    await t
      .http()
      .delete(`/customers/${id}`)
      .set('Authorization', `Bearer ${op.token}`)
      .send({ confirm: 'carol@export.test' })
      .expect(403);
    await t.http().get('/customers/999999/export').set(admin).expect(404);
    await t.http().delete('/customers/999999').set(admin).send({ confirm: 'x@y.test' }).expect(404);
  });

  it('streams a large export: files are read as the client takes them, not ahead', async () => {
    const { requestId } = await ingest(
      rawMail({ from: 'big@export.test', subject: 'Logs', messageId: 'big-1@export.test' }),
    );
    const [message] = await sql<{ id: number }>(t, 'SELECT id FROM messages WHERE request_id = $1', [requestId]);
    const MB = 1024 * 1024;
    // Six 8 MB files in the blob store, named by attachment rows (as ingest stores them).
    const contents = [1, 2, 3, 4, 5, 6].map((g) =>
      Buffer.from(
        crypto
          .createHash('md5')
          .update(String(g))
          .digest('hex')
          .repeat((8 * MB) / 32),
      ),
    );
    const hashes = await t.app.get(BlobsService).put(contents.map((bytes) => ({ bytes })));
    const files = await sql<{ id: number }>(
      t,
      `INSERT INTO attachments (message_id, filename, content_type, size, sha256)
         SELECT $1, 'big-' || g || '.log', 'text/plain', $2, ($3::text[])[g]
           FROM generate_series(1, 6) g RETURNING id`,
      [message.id, 8 * MB, hashes],
    );
    const server = t.app.getHttpServer() as http.Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const id = await customerId('big@export.test');
    const zipPath = path.join(tmp, 'big.zip');
    const out = fs.createWriteStream(zipPath);
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/customers/${id}/export`, headers: admin }, (res) => {
          expect(res.statusCode).toBe(200);
          let received = 0;
          let paused = false;
          res.on('data', (chunk: Buffer) => {
            out.write(chunk);
            received += chunk.length;
            if (!paused && received > MB) {
              // The client stops after the first megabyte; meanwhile the last files disappear. A
              // server that read ahead would still send their bytes.
              paused = true;
              res.pause();
              setTimeout(() => {
                sql(t, 'DELETE FROM attachments WHERE id = ANY ($1::int[])', [files.slice(3).map((f) => f.id)]).then(
                  () => res.resume(),
                  reject,
                );
              }, 500);
            }
          });
          res.on('end', () => out.end(resolve));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    clearInterval(sampler);
    const names = list(zipPath).filter((n) => n.includes('-attachments/'));
    expect(names).toHaveLength(6);
    const first = entry(zipPath, names[0]);
    expect(first.length).toBe(8 * MB);
    expect(first.subarray(0, 32).toString()).toBe(crypto.createHash('md5').update('1').digest('hex'));
    expect(entry(zipPath, names[5]).toString()).toContain('deleted while the export was written');
    // The measure (RSS of this process, which serves the export and, on the embedded database, is
    // the database too): reported, not asserted -- a bytea read costs a few times its size in
    // driver buffers and strings, and the garbage collector returns them when it likes. The bound
    // is what the deletions above show: one file read at a time, as the client takes them.
    console.log(`export of 6 x 8 MB (${kind}): RSS peak +${Math.round((rssPeak - rssBefore) / MB)} MB`);
  });

  /** GET /reports/summary over yesterday to tomorrow (the same range each time). */
  const DAY = 24 * 3600 * 1000;
  const range = {
    from: new Date(Date.now() - DAY).toISOString(),
    to: new Date(Date.now() + DAY).toISOString(),
    tz: 'UTC',
  };
  async function report(): Promise<{ requests: { created: number; closed: number } } & Record<string, unknown>> {
    const res = await t.http().get('/reports/summary').query(range).set(admin).expect(200);
    return res.body;
  }

  /** Rows anywhere (but the audit log) that hold `needle` in a text, JSON, array, search or byte column. */
  async function occurrences(needle: string): Promise<string[]> {
    const columns = await sql<{ table_name: string; column_name: string; data_type: string }>(
      t,
      `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
         JOIN information_schema.tables tb ON tb.table_name = c.table_name AND tb.table_schema = c.table_schema
        WHERE c.table_schema = 'public' AND tb.table_type = 'BASE TABLE' AND c.table_name NOT IN ('audit_log', 'migrations')
          AND c.data_type IN ('text', 'jsonb', 'ARRAY', 'tsvector', 'bytea')`,
    );
    const found: string[] = [];
    for (const c of columns) {
      const col = `"${c.column_name}"`;
      const test =
        c.data_type === 'bytea'
          ? `position(convert_to($1, 'UTF8') in ${col}) > 0`
          : `strpos(lower(${col}::text), $1) > 0`;
      const [row] = await sql<{ n: number }>(t, `SELECT count(*)::int AS n FROM "${c.table_name}" WHERE ${test}`, [
        needle,
      ]);
      if (row.n > 0) found.push(`${c.table_name}.${c.column_name}: ${row.n}`);
    }
    // And the bytes of raw mails and attachments: the blob store (DATA_DIR/blobs, docs/storage.md).
    const inBlobs = blobFiles(path.join(t.dataDir, 'blobs')).filter((f) =>
      fs.readFileSync(f).toString('latin1').toLowerCase().includes(needle),
    ).length;
    if (inBlobs > 0) found.push(`blobs: ${inBlobs}`);
    return found;
  }

  /** Every blob file under the filesystem store's folder (named by their 64-hex-digit hash). */
  function blobFiles(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
      .map((e) => path.join(e.parentPath, e.name));
  }

  it('erases a customer: wrong confirmation changes nothing; then everything of theirs goes, reports stay', async () => {
    // Dora: a closed request with an attachment and a rating, an open one with an answer pending to
    // her, a quarantined mail, a reply she sent into Eve's request (she was in Cc), and Frank's
    // request merged into hers.
    const file = crypto.randomBytes(5000);
    const a = await ingest(
      mailWithFile('Dora Doe <dora@erase.test>', 'Invoice', 'dora-1@erase.test', 'bill.pdf', file),
    );
    await close(a.requestId);
    await sql(t, 'UPDATE requests SET satisfaction_rating = 4, satisfaction_rated_at = now() WHERE id = $1', [
      a.requestId,
    ]);
    const b = await ingest(
      rawMail({ from: 'Dora Doe <dora@erase.test>', subject: 'Refund', messageId: 'dora-2@erase.test' }),
    );
    await t
      .http()
      .post(`/requests/${b.requestId}/messages`)
      .set(admin)
      .send({ text: 'We are on it, Dora.' })
      .expect(201);
    await quarantine('dora@erase.test', 'dora-q');
    const e = await ingest(
      rawMail({
        from: 'eve@erase.test',
        subject: 'Team trip',
        messageId: 'eve-1@erase.test',
        headers: { Cc: 'dora@erase.test' },
      }),
    );
    const inEve = await ingest(
      rawMail({
        from: 'dora@erase.test',
        subject: 'Re: Team trip',
        messageId: 'dora-3@erase.test',
        headers: { 'In-Reply-To': '<eve-1@erase.test>' },
        text: 'Count me in, Dora',
      }),
    );
    expect(inEve).toMatchObject({ status: 'appended', requestId: e.requestId });
    const f = await ingest(
      rawMail({ from: 'frank@erase.test', subject: 'Same refund', messageId: 'frank-1@erase.test' }),
    );
    await t.http().post(`/requests/${f.requestId}/merge`).set(admin).send({ intoId: b.requestId }).expect(200);
    const dora = await customerId('dora@erase.test');
    const [{ n: attachmentsBefore }] = await sql<{ n: number }>(t, 'SELECT count(*)::int AS n FROM attachments');
    const reportBefore = await report();
    // Her two requests are among those counted (and so would be missed if erased with them).
    expect(reportBefore.requests.created).toBeGreaterThanOrEqual(4);
    expect(reportBefore.requests.closed).toBeGreaterThanOrEqual(2);
    expect(reportBefore).toMatchObject({ satisfaction: { count: 1, average: 4 } });
    // Her raw mails are in the blob store (with Eve's, which has her in Cc): three at least.
    const before = await occurrences('dora@erase.test');
    expect(Number(before.find((f) => f.startsWith('blobs: '))?.slice(7))).toBeGreaterThanOrEqual(3);

    // Missing or wrong confirmation: 400, nothing changes.
    await t.http().delete(`/customers/${dora}`).set(admin).send({}).expect(400);
    await t.http().delete(`/customers/${dora}`).set(admin).send({ confirm: 'eve@erase.test' }).expect(400);
    await expect(sql(t, 'SELECT id FROM requests WHERE customer_id = $1', [dora])).resolves.toHaveLength(2);
    await expect(sql(t, 'SELECT count(*)::int AS n FROM attachments')).resolves.toEqual([{ n: attachmentsBefore }]);

    const res = await t
      .http()
      .delete(`/customers/${dora}`)
      .set(admin)
      .send({ confirm: ' DORA@erase.test ' })
      .expect(204);
    expect(res.text).toBe('');

    // Nothing names her anywhere (the address, in any table, column or byte), but Eve's mail as Eve
    // sent it (its Cc header): a raw mail is someone else's record, kept whole (docs/privacy.md).
    await expect(occurrences('dora@erase.test')).resolves.toEqual(['blobs: 1']);
    await expect(occurrences('dora doe')).resolves.toEqual([]);
    await expect(sql(t, 'SELECT id FROM customers WHERE id = $1', [dora])).resolves.toEqual([]);
    await expect(
      sql(t, 'SELECT id FROM requests WHERE id = ANY ($1::int[])', [[a.requestId, b.requestId]]),
    ).resolves.toEqual([]);
    await expect(
      sql(t, 'SELECT id FROM inbound_mail WHERE request_id = ANY ($1::int[])', [[a.requestId, b.requestId]]),
    ).resolves.toEqual([]);
    await expect(
      sql(t, `SELECT id FROM webhook_deliveries WHERE payload->'data'->>'requestId' = ANY ($1::text[])`, [
        [String(a.requestId), String(b.requestId)],
      ]),
    ).resolves.toEqual([]);
    await expect(sql(t, 'SELECT count(*)::int AS n FROM attachments')).resolves.toEqual([{ n: attachmentsBefore - 1 }]);
    // Eve's request keeps its other messages, numbered 1..n again; Frank's request is no longer merged into a gone one.
    const kept = await sql<{ seq: number; from_address: string }>(
      t,
      'SELECT seq, from_address FROM messages WHERE request_id = $1 ORDER BY seq',
      [e.requestId],
    );
    expect(kept[0]).toEqual({ seq: 1, from_address: 'eve@erase.test' });
    expect(kept.map((m) => m.seq)).toEqual(kept.map((_, i) => i + 1));
    await expect(sql(t, 'SELECT last_seq FROM requests WHERE id = $1', [e.requestId])).resolves.toEqual([
      { last_seq: kept.length },
    ]);
    await expect(sql(t, 'SELECT merged_into_id FROM requests WHERE id = $1', [f.requestId])).resolves.toEqual([
      { merged_into_id: null },
    ]);

    // The reports count what they counted.
    expect(await report()).toEqual(reportBefore);
    await expect(sql(t, 'SELECT id FROM erased_requests ORDER BY id')).resolves.toEqual([
      { id: a.requestId },
      { id: b.requestId },
    ]);

    // The audit record: ids and counts, no address, no name.
    const [audit] = await sql<{
      action: string;
      entity: string;
      entity_id: string;
      before: unknown;
      after: unknown;
      data: unknown;
    }>(t, `SELECT action, entity, entity_id, before, after, data FROM audit_log WHERE action = 'customer.erase'`);
    expect(audit).toMatchObject({ action: 'customer.erase', entity: 'customer', before: null, after: null });
    expect(Number(audit.entity_id)).toBe(dora);
    // What went, by ids and counts: 1 + (1 + the answer + Frank's moved in) + 1 in Eve's request
    // messages; 2 + Frank's + the quarantined + the one into Eve's raw mails.
    expect(audit.data).toEqual({
      body: { confirm: { present: true } },
      answer: {
        customerId: dora,
        requestIds: [a.requestId, b.requestId],
        requests: 2,
        messages: expect.any(Number),
        attachments: 1,
        rawMails: expect.any(Number),
        outboxMails: expect.any(Number),
        pendingMailsCancelled: expect.any(Number),
        webhookDeliveries: expect.any(Number),
        participantEntries: 1,
      },
    });
    const answer = (audit.data as { answer: Record<string, number> }).answer;
    expect(answer.messages).toBeGreaterThanOrEqual(5);
    expect(answer.rawMails).toBeGreaterThanOrEqual(4);
    expect(answer.outboxMails).toBeGreaterThanOrEqual(1);
    expect(answer.webhookDeliveries).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(audit).toLowerCase()).not.toMatch(/dora|erase\.test/);

    // Mail from her later starts fresh: a new customer, a new request, though it answers an erased message.
    const again = await ingest(
      rawMail({
        from: 'dora@erase.test',
        subject: `Re: [#${b.requestId}] Refund`,
        messageId: 'dora-4@erase.test',
        headers: { 'In-Reply-To': '<dora-2@erase.test>' },
      }),
    );
    expect(again.status).toBe('created');
    expect([a.requestId, b.requestId]).not.toContain(again.requestId);
    expect(await customerId('dora@erase.test')).not.toBe(dora);
  });

  /** Runs `hold` in a transaction of its own (another connection), resolves with its release. */
  async function holding(statement: string): Promise<() => Promise<void>> {
    const qr = t.db.dataSource.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    await qr.query(statement);
    return async () => {
      await qr.commitTransaction();
      await qr.release();
    };
  }

  /** Resolves once `n` sessions of this database wait for a lock. */
  async function waiting(n: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const [row] = await sql<{ n: number }>(
        t,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (row.n >= n) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`fewer than ${n} sessions waiting for a lock`);
  }

  // Both orders, forced (PostgreSQL: the embedded database runs one transaction at a time).
  (kind === 'postgres' ? it : it.skip)(
    'mail threaded into a request before the erasure locks it is erased with it; mail during the erasure starts fresh',
    async () => {
      // 1. The ingest goes first and stalls after it threaded the mail (at its history entry): the erasure waits for it.
      const from = 'hal@erase.test';
      const first = await ingest(rawMail({ from, subject: 'Race', messageId: 'hal-1@erase.test' }));
      const id = await customerId(from);
      let release = await holding('LOCK TABLE request_events IN EXCLUSIVE MODE');
      const reply = rawMail({
        from,
        subject: 'Re: Race',
        messageId: 'hal-2@erase.test',
        headers: { 'In-Reply-To': '<hal-1@erase.test>' },
      });
      const mail = postRaw(t, reply).then((r) => r);
      await waiting(1);
      const erasure = t
        .http()
        .delete(`/customers/${id}`)
        .set(admin)
        .send({ confirm: from })
        .then((r) => r);
      await waiting(2);
      await release();
      const appended = await mail;
      expect(appended.status).toBe(200);
      expect(appended.body.results[0]).toMatchObject({ status: 'appended', requestId: first.requestId });
      const erased = await erasure;
      expect(erased.status).toBe(204);
      const [record] = await sql<{ data: { answer: unknown } }>(
        t,
        `SELECT data FROM audit_log WHERE action = 'customer.erase' AND entity_id = $1`,
        [id],
      );
      // Its first mail, the reply that went first (and the auto-reply): all erased.
      expect(record.data.answer).toMatchObject({ requests: 1, rawMails: 2 });
      await expect(sql(t, 'SELECT id FROM messages WHERE from_address = $1', [from])).resolves.toEqual([]);
      await expect(sql(t, 'SELECT id FROM customers WHERE email = $1', [from])).resolves.toEqual([]);

      // 2. The erasure goes first and stalls before its end: the mail waits, then opens a new customer and request.
      const ivy = 'ivy@erase.test';
      const ivyFirst = await ingest(rawMail({ from: ivy, subject: 'Race', messageId: 'ivy-1@erase.test' }));
      const ivyId = await customerId(ivy);
      release = await holding('LOCK TABLE erased_requests IN EXCLUSIVE MODE');
      const ivyErasure = t
        .http()
        .delete(`/customers/${ivyId}`)
        .set(admin)
        .send({ confirm: ivy })
        .then((r) => r);
      await waiting(1);
      const ivyMail = postRaw(
        t,
        rawMail({
          from: ivy,
          subject: 'Re: Race',
          messageId: 'ivy-2@erase.test',
          headers: { 'In-Reply-To': '<ivy-1@erase.test>' },
        }),
      ).then((r) => r);
      await waiting(2);
      await release();
      expect((await ivyErasure).status).toBe(204);
      const answered = await ivyMail;
      expect(answered.body.results[0].status).toBe('created');
      expect(answered.body.results[0].requestId).not.toBe(ivyFirst.requestId);
      const [fresh] = await sql<{ id: number }>(t, 'SELECT id FROM customers WHERE email = $1', [ivy]);
      expect(fresh.id).not.toBe(ivyId);
      await expect(
        sql(t, 'SELECT customer_id, previous_request_id FROM requests WHERE id = $1', [
          answered.body.results[0].requestId,
        ]),
      ).resolves.toEqual([{ customer_id: fresh.id, previous_request_id: null }]);
    },
  );

  it('erases consistently while mail from the customer arrives at the same moment', async () => {
    for (let i = 0; i < 3; i++) {
      const from = `gil${i}@erase.test`;
      const first = await ingest(rawMail({ from, subject: 'Race', messageId: `gil${i}-1@erase.test` }));
      const id = await customerId(from);
      const [erased, mail] = await Promise.all([
        t.http().delete(`/customers/${id}`).set(admin).send({ confirm: from }),
        postRaw(
          t,
          rawMail({
            from,
            subject: 'Re: Race',
            messageId: `gil${i}-2@erase.test`,
            headers: { 'In-Reply-To': `<gil${i}-1@erase.test>` },
          }),
        ),
      ]);
      expect(erased.status).toBe(204);
      expect(mail.status).toBe(200);
      // Either the mail went first (appended, then erased with the rest) or after (a new customer, a new request).
      const customers = await sql<{ id: number }>(t, 'SELECT id FROM customers WHERE email = $1', [from]);
      const result = mail.body.results[0];
      if (result.status === 'appended') {
        expect(result.requestId).toBe(first.requestId);
        expect(customers).toEqual([]);
      } else {
        expect(result.status).toBe('created');
        expect(customers).toHaveLength(1);
        expect(customers[0].id).not.toBe(id);
        await expect(sql(t, 'SELECT customer_id FROM requests WHERE id = $1', [result.requestId])).resolves.toEqual([
          { customer_id: customers[0].id },
        ]);
      }
      // No half state: the old customer's requests and every message of theirs are gone.
      await expect(sql(t, 'SELECT id FROM requests WHERE customer_id = $1', [id])).resolves.toEqual([]);
      await expect(sql(t, 'SELECT id FROM requests WHERE id = $1', [first.requestId])).resolves.toEqual([]);
      const left = await sql<{ n: number }>(
        t,
        `SELECT count(*)::int AS n FROM messages m JOIN requests r ON r.id = m.request_id
          WHERE m.from_address = $1 AND r.customer_id IS DISTINCT FROM $2`,
        [from, customers[0]?.id ?? null],
      );
      expect(left).toEqual([{ n: 0 }]);
    }
  });
});
