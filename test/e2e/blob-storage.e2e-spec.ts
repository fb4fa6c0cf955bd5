import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { BlobJobs } from '../../src/blobs/blob-jobs';
import { BlobMigration } from '../../src/blobs/blob-migration';
import { BLOB_STORE, type BlobStore } from '../../src/blobs/blob-store';
import { BlobsService } from '../../src/blobs/blobs.service';
import { S3BlobStore } from '../../src/blobs/s3-blob-store';
import { binaryBody, createTestApp, TestApp } from '../setup/app';
import type { DatabaseKind } from '../setup/database';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { startS3, type TestS3 } from '../setup/s3';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A mail from `from` carrying `pdf` as report.pdf. */
function mailWithPdf(from: string, messageId: string, pdf: Buffer): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      'To: support@desk.test',
      `Subject: Report ${messageId}`,
      'Date: Wed, 25 Nov 2026 09:00:00 +0000',
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The report is attached.',
      '--b1',
      'Content-Type: application/pdf; name="report.pdf"',
      'Content-Disposition: attachment; filename="report.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      pdf.toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

/**
 * Blob storage (issue 22 items 1 and 4) on both stores: raw mail and attachments live in the blob
 * store by SHA-256 (once per content), not in PostgreSQL; downloads and outgoing mail read them
 * back; the S3 server stopped makes ingest answer 503 and lose nothing; the sweeper, the migrate
 * command and retention.
 */
describe.each([
  ['filesystem', 'postgres'],
  ['s3', 'postgres'],
  ['filesystem', 'embedded'],
] as const)('blob storage on %s (database: %s)', (kind, database: DatabaseKind) => {
  let t: TestApp;
  let s3: TestS3 | undefined;
  let store: BlobStore;
  let auth: Record<string, string>;
  const RUN = `${kind}.${database}.${Date.now().toString(36)}`;
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(200_000)]);

  beforeAll(async () => {
    if (kind === 's3') s3 = await startS3();
    t = await createTestApp(
      {
        ...(s3?.env ?? {}),
        RAW_MAIL_RETENTION_DAYS: '30',
        QUARANTINE_RETENTION_DAYS: '90',
      },
      database,
    );
    store = t.app.get<BlobStore>(BLOB_STORE);
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const blobRows = (h: string) => sql(t, 'SELECT sha256 FROM blobs WHERE sha256 = $1', [h]);

  it('keeps the raw mail and its PDF in the store (once for two mails), not in PostgreSQL, and streams the download', async () => {
    const one = mailWithPdf('ann@customer.test', `one.${RUN}@customer.test`, pdf);
    const two = mailWithPdf('bob@customer.test', `two.${RUN}@customer.test`, pdf);
    for (const raw of [one, two]) {
      const res = await postRaw(t, raw);
      expect(res.status).toBe(200);
      expect(res.body.results[0].status).toBe('created');
    }
    const inbound = await sql<{ raw: Buffer | null; raw_sha256: string; size: number }>(
      t,
      `SELECT raw, raw_sha256, size FROM inbound_mail WHERE message_id = ANY($1) ORDER BY id`,
      [[`one.${RUN}@customer.test`, `two.${RUN}@customer.test`]],
    );
    expect(inbound.map((r) => [r.raw, r.raw_sha256])).toEqual([
      [null, sha(one)],
      [null, sha(two)],
    ]);
    for (const raw of [one, two]) await expect(store.exists(sha(raw))).resolves.toBe(true);

    const files = await sql<{ id: number; content: Buffer | null; sha256: string }>(
      t,
      `SELECT a.id, a.content, a.sha256 FROM attachments a JOIN messages m ON m.id = a.message_id
        WHERE m.message_id = ANY($1) ORDER BY a.id`,
      [[`one.${RUN}@customer.test`, `two.${RUN}@customer.test`]],
    );
    expect(files.map((f) => [f.content, f.sha256])).toEqual([
      [null, sha(pdf)],
      [null, sha(pdf)],
    ]);
    await expect(blobRows(sha(pdf))).resolves.toHaveLength(1);
    if (kind === 'filesystem') {
      const h = sha(pdf);
      expect(fs.readFileSync(path.join(t.dataDir, 'blobs', h.slice(0, 2), h.slice(2, 4), h)).equals(pdf)).toBe(true);
    } else {
      // One object for the PDF, under the configured prefix, fanned out by its first byte.
      const s3store = store as S3BlobStore;
      const listed = await (
        await s3store.client()
      ).send(new ListObjectsV2Command({ Bucket: s3!.bucket, Prefix: 'desk/' }));
      const keys = (listed.Contents ?? []).map((o) => o.Key);
      expect(keys.filter((k) => k === `desk/${sha(pdf).slice(0, 2)}/${sha(pdf)}`)).toHaveLength(1);
    }

    const download = await t.http().get(`/attachments/${files[1].id}`).set(auth).buffer(true).parse(binaryBody);
    expect(download.status).toBe(200);
    expect(download.headers['content-length']).toBe(String(pdf.length));
    expect((download.body as Buffer).equals(pdf)).toBe(true);
  });

  it('mails an uploaded file and a forwarded attachment from the store', async () => {
    const res = await postRaw(t, mailWithPdf('cat@customer.test', `fw.${RUN}@customer.test`, pdf));
    const requestId = res.body.results[0].requestId as number;
    const upload = Buffer.from(`uploaded notes ${RUN}`);
    const posted = await t
      .http()
      .post(`/requests/${requestId}/messages`)
      .set(auth)
      .field('text', 'Notes attached.')
      .attach('files', upload, { filename: 'notes.txt', contentType: 'text/plain' });
    expect(posted.status).toBe(201);
    const [{ content }] = await sql<{ content: Buffer | null }>(
      t,
      'SELECT content FROM attachments WHERE message_id = $1',
      [posted.body.id],
    );
    expect(content).toBeNull();
    await expect(store.exists(sha(upload))).resolves.toBe(true);

    const [customer] = await sql<{ id: number }>(t, 'SELECT id FROM messages WHERE message_id = $1', [
      `fw.${RUN}@customer.test`,
    ]);
    await t
      .http()
      .post(`/requests/${requestId}/forward`)
      .set(auth)
      .send({ to: `vendor.${kind}@vendor.test`, text: 'Please look.', messageIds: [customer.id] })
      .expect(201);

    const dir = path.join(t.dataDir, 'outbox');
    const parsed = async () =>
      Promise.all(
        (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.eml')) : []).map(async (f) =>
          simpleParser(fs.readFileSync(path.join(dir, f))),
        ),
      );
    const mails = await waitFor(async () => {
      const all = await parsed();
      const reply = all.find((m) => m.attachments.some((a) => a.filename === 'notes.txt'));
      const forward = all.find((m) => m.to && JSON.stringify(m.to).includes(`vendor.${kind}@vendor.test`));
      return reply && forward && { reply, forward };
    }, 20_000);
    expect(mails.reply.attachments.find((a) => a.filename === 'notes.txt')!.content.equals(upload)).toBe(true);
    expect(mails.forward.attachments.find((a) => a.filename === 'report.pdf')!.content.equals(pdf)).toBe(true);
  });

  it('answers 410 for an attachment whose bytes were lost behind its back, fails its outgoing mail with the reason, and exports the rest', async () => {
    const lost = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(3000)]);
    const res = await postRaw(t, mailWithPdf('lou@customer.test', `lost.${RUN}@customer.test`, lost));
    const requestId = res.body.results[0].requestId as number;
    const [file] = await sql<{ id: number; message_id: number }>(
      t,
      'SELECT a.id, a.message_id FROM attachments a WHERE a.sha256 = $1 ORDER BY a.id LIMIT 1',
      [sha(lost)],
    );
    await store.delete(sha(lost)); // an operator's mistake on the bucket or the disk

    const download = await t.http().get(`/attachments/${file.id}`).set(auth);
    expect(download.status).toBe(410);
    expect(download.body.message).toBe(`blob ${sha(lost)} is missing from the blob store`);

    const forward = await t
      .http()
      .post(`/requests/${requestId}/forward`)
      .set(auth)
      .send({ to: `lost.${kind}@vendor.test`, text: 'Please look.', messageIds: [file.message_id] });
    expect(forward.status).toBe(201);
    const failed = await waitFor(async () => {
      const [row] = await sql<{ status: string; last_error: string; attempts: number }>(
        t,
        `SELECT status, last_error, attempts FROM outbox WHERE to_address = $1`,
        [`lost.${kind}@vendor.test`],
      );
      return row?.status === 'failed' && row;
    }, 20_000);
    expect(failed).toMatchObject({ attempts: 1, last_error: `blob ${sha(lost)} is missing from the blob store` });

    const [{ id: customerId }] = await sql<{ id: number }>(t, 'SELECT id FROM customers WHERE email = $1', [
      'lou@customer.test',
    ]);
    const zip = await t.http().get(`/customers/${customerId}/export`).set(auth).buffer(true).parse(binaryBody);
    expect(zip.status).toBe(200);
    // Attachments are stored uncompressed in the archive: the note is there as written.
    expect((zip.body as Buffer).includes('[this attachment is missing from the blob store]')).toBe(true);
  });

  if (kind === 's3') {
    it('answers 503 with Retry-After while the S3 server is down, and stores the retried mail once', async () => {
      const mail = mailWithPdf('dan@customer.test', `down.${RUN}@customer.test`, crypto.randomBytes(5000));
      const [{ id: attachmentId }] = await sql<{ id: number }>(t, 'SELECT id FROM attachments ORDER BY id LIMIT 1');
      await s3!.stop();
      try {
        const res = await postRaw(t, mail);
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBeDefined();
        const down = await t.http().get(`/attachments/${attachmentId}`).set(auth);
        expect(down.status).toBe(503);
        await expect(
          sql(t, 'SELECT id FROM inbound_mail WHERE message_id = $1', [`down.${RUN}@customer.test`]),
        ).resolves.toHaveLength(0);
      } finally {
        await s3!.start();
      }
      const retried = await postRaw(t, mail);
      expect(retried.status).toBe(200);
      expect(retried.body.results[0].status).toBe('created');
      const again = await postRaw(t, mail);
      expect(again.body.results[0].status).toBe('duplicate');
      await expect(
        sql(t, 'SELECT id FROM inbound_mail WHERE message_id = $1', [`down.${RUN}@customer.test`]),
      ).resolves.toHaveLength(1);
      await expect(store.exists(sha(mail))).resolves.toBe(true);
      await expect(blobRows(sha(mail))).resolves.toHaveLength(1);
    });
  }

  it('sweeps an orphan past the grace, keeps a fresh one and every blob a row names', async () => {
    const blobs = t.app.get(BlobsService);
    const old = Buffer.from(`old orphan ${RUN}`);
    const fresh = Buffer.from(`fresh orphan ${RUN}`);
    await blobs.put([{ bytes: old }, { bytes: fresh }]);
    await sql(t, `UPDATE blobs SET touched_at = now() - interval '2 hours' WHERE sha256 = $1 OR sha256 = $2`, [
      sha(old),
      sha(pdf),
    ]);
    const swept = await blobs.sweep(60 * 60);
    expect(swept).toBeGreaterThanOrEqual(1);
    await expect(store.exists(sha(old))).resolves.toBe(false);
    await expect(blobRows(sha(old))).resolves.toHaveLength(0);
    await expect(store.exists(sha(fresh))).resolves.toBe(true);
    await expect(store.exists(sha(pdf))).resolves.toBe(true); // named by attachments, however old
    await expect(blobRows(sha(pdf))).resolves.toHaveLength(1);
  });

  it('never sweeps a blob that a transaction still in flight names, however old its touch', async () => {
    if (database === 'embedded') return; // one session: no second transaction to hold open
    const blobs = t.app.get(BlobsService);
    const bytes = Buffer.from(`being written ${RUN}`);
    await blobs.put([{ bytes }]);
    await sql(t, `UPDATE blobs SET touched_at = now() - interval '2 hours' WHERE sha256 = $1`, [sha(bytes)]);
    await postRaw(t, rawMail({ from: 'wen@customer.test', subject: 'w', messageId: `w.${RUN}@c.test` }));
    const [{ id: messageRowId }] = await sql<{ id: number }>(t, 'SELECT id FROM messages WHERE message_id = $1', [
      `w.${RUN}@c.test`,
    ]);
    const writer = t.db.dataSource.createQueryRunner();
    await writer.connect();
    try {
      await writer.startTransaction();
      await writer.query(
        `INSERT INTO attachments (message_id, filename, content_type, size, sha256) VALUES ($1, 'w.txt', 'text/plain', $2, $3)`,
        [messageRowId, bytes.length, sha(bytes)],
      );
      await blobs.sweep(60 * 60);
      await expect(store.exists(sha(bytes))).resolves.toBe(true);
      await writer.commitTransaction();
    } finally {
      await writer.release();
    }
    await blobs.sweep(60 * 60);
    await expect(store.exists(sha(bytes))).resolves.toBe(true);
    await expect(blobRows(sha(bytes))).resolves.toHaveLength(1);
  });

  it('moves old bytea rows into the store (resumable), and they still download', async () => {
    const res = await postRaw(
      t,
      rawMail({ from: 'eve@customer.test', subject: 'old', messageId: `old.${RUN}@c.test` }),
    );
    const requestId = res.body.results[0].requestId as number;
    const [{ id: messageRowId }] = await sql<{ id: number }>(t, 'SELECT id FROM messages WHERE request_id = $1', [
      requestId,
    ]);
    // Rows as they were stored before blob storage: the bytes in PostgreSQL.
    const oldFiles = [0, 1, 2].map((i) => Buffer.from(`old attachment ${i} ${RUN}`));
    for (const [i, bytes] of oldFiles.entries()) {
      await sql(t, `INSERT INTO blobs (sha256, size) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        sha(bytes),
        bytes.length,
      ]);
      await sql(
        t,
        `INSERT INTO attachments (message_id, filename, content_type, size, sha256, content)
         VALUES ($1, $2, 'text/plain', $3, $4, $5)`,
        [messageRowId, `old${i}.txt`, bytes.length, sha(bytes), bytes],
      );
    }
    const oldRaw = rawMail({ from: 'eve@customer.test', subject: 'older', messageId: `older.${RUN}@c.test` });
    await sql(
      t,
      `INSERT INTO inbound_mail (source, dedupe_key, message_id, size, raw, status)
       VALUES ('webhook', $1, $1, $2, $3, 'created')`,
      [`older.${RUN}@c.test`, oldRaw.length, oldRaw],
    );
    const migration = t.app.get(BlobMigration);
    const before = await migration.pending();
    expect(before).toEqual({ attachments: 3, raw: 1 });

    const first = await migration.run({ batch: 1, limit: 2 });
    expect(first.moved).toBe(2);
    await expect(migration.pending()).resolves.toEqual({ attachments: 1, raw: 1 });
    const second = await migration.run({ batch: 1 });
    expect(second.moved).toBe(2);
    await expect(migration.pending()).resolves.toEqual({ attachments: 0, raw: 0 });
    await expect(migration.run({ batch: 10 })).resolves.toEqual({ moved: 0, total: 0 });

    for (const bytes of oldFiles) await expect(store.exists(sha(bytes))).resolves.toBe(true);
    await expect(store.exists(sha(oldRaw))).resolves.toBe(true);
    const [row] = await sql<{ raw: Buffer | null; raw_sha256: string }>(
      t,
      'SELECT raw, raw_sha256 FROM inbound_mail WHERE dedupe_key = $1',
      [`older.${RUN}@c.test`],
    );
    expect(row).toEqual({ raw: null, raw_sha256: sha(oldRaw) });
    const [file] = await sql<{ id: number }>(
      t,
      `SELECT id FROM attachments WHERE filename = 'old2.txt' AND message_id = $1`,
      [messageRowId],
    );
    const download = await t.http().get(`/attachments/${file.id}`).set(auth).expect(200);
    expect(download.text).toBe(`old attachment 2 ${RUN}`);
  });

  it('drops old raw mail and old quarantined mail in batches, then their blobs', async () => {
    const mails = [0, 1, 2].map((i) =>
      rawMail({ from: 'fred@customer.test', subject: `r${i}`, messageId: `ret${i}.${RUN}@c.test` }),
    );
    for (const m of mails) expect((await postRaw(t, m)).body.results[0].status).toMatch(/created|appended/);
    const quarantined = rawMail({ from: '', subject: 'no sender', messageId: `q.${RUN}@c.test` });
    expect((await postRaw(t, quarantined)).body.results[0].status).toBe('quarantined');
    const kept = rawMail({ from: 'gil@customer.test', subject: 'recent', messageId: `recent.${RUN}@c.test` });
    await postRaw(t, kept);

    await sql(t, `UPDATE inbound_mail SET received_at = now() - interval '400 days' WHERE message_id = ANY($1)`, [
      [...mails.map((_, i) => `ret${i}.${RUN}@c.test`), `q.${RUN}@c.test`],
    ]);
    const dropped = await t.app.get(BlobJobs).applyRetention(2);
    expect(dropped).toBeGreaterThanOrEqual(4);

    const rows = await sql<{ message_id: string; raw_sha256: string | null; raw_expired_at: Date | null }>(
      t,
      `SELECT message_id, raw_sha256, raw_expired_at FROM inbound_mail WHERE message_id = ANY($1) ORDER BY id`,
      [[...mails.map((_, i) => `ret${i}.${RUN}@c.test`), `q.${RUN}@c.test`, `recent.${RUN}@c.test`]],
    );
    // Processed rows stay (their dedupe keys keep resent copies duplicates) without raw mail; the quarantined one is gone.
    expect(rows.map((r) => [r.message_id, r.raw_sha256 === null, r.raw_expired_at !== null])).toEqual([
      ...mails.map((_, i) => [`ret${i}.${RUN}@c.test`, true, true]),
      [`recent.${RUN}@c.test`, false, false],
    ]);
    for (const m of [...mails, quarantined]) await expect(store.exists(sha(m))).resolves.toBe(false);
    await expect(store.exists(sha(kept))).resolves.toBe(true);
    expect((await postRaw(t, mails[0])).body.results[0].status).toBe('duplicate');
  });
});
