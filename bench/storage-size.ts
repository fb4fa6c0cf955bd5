import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { planMails } from './emails';
import { createDatabase, main, postMail, record, rng, round, runPool, startApp } from './lib';

/**
 * Storage size (issue 22): N realistic mails with attachments through the webhook into a fresh
 * database, then the size of the database (and of its mail tables, TOAST and indexes included) and
 * of the blob store's directory when there is one, scaled linearly to 100,000 mails.
 *
 * The mix, seeded (the same mails for the same BENCH_STORAGE_SEED): ~60% without an attachment
 * (half of them text + HTML, as mail clients send), ~30% with one PDF or image of 20-300 KB, ~10%
 * with 2-4 of them; ~10% of the attachments are a file sent before, again (a customer resending).
 * Attachment bytes are incompressible (a PDF's streams are deflated, JPEG and PNG are compressed),
 * so PostgreSQL's TOAST compression gains nothing on them, as on real ones.
 */

const MAILS = Number(process.env.BENCH_STORAGE_MAILS ?? 5_000);
const SEED = Number(process.env.BENCH_STORAGE_SEED ?? 22);
const CONCURRENCY = Number(process.env.BENCH_STORAGE_CONCURRENCY ?? 8);
/** Scale of the reported figures. */
const PER = 100_000;

const WORDS = (
  'invoice order delivery refund contract payment account login password printer laptop network email ' +
  'attached please find scan photo receipt statement damaged broken screen again still waiting thanks ' +
  'regards hello team since yesterday morning urgent question access document signed copy resend version'
).split(' ');

interface Attachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface StorageMail {
  raw: Buffer;
  messageId: string;
  attachments: Attachment[];
  /** Attachments that are a file sent before (same bytes). */
  resent: number;
}

function words(r: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
}

function text(r: () => number, bytes: number): string {
  const lines: string[] = [];
  for (let size = 0; size < bytes;) {
    const line = words(r, 10 + Math.floor(r() * 4));
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join('\r\n');
}

/** `n` incompressible bytes, the same for the same `r` state: AES-CTR over zeros (a JS loop was 40 s for 5,000 mails). */
function noise(r: () => number, n: number): Buffer {
  const key = Buffer.alloc(16);
  const iv = Buffer.alloc(16);
  for (let i = 0; i < 16; i += 4) {
    key.writeUInt32LE(Math.floor(r() * 4294967296), i);
    iv.writeUInt32LE(Math.floor(r() * 4294967296), i);
  }
  return crypto.createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(n));
}

/** 20-300 KB, more small files than large ones (log-uniform). */
function attachmentSize(r: () => number): number {
  return Math.round(20 * 1024 * Math.pow(300 / 20, r()));
}

/** A PDF (text objects around deflated-looking streams), a JPEG or a PNG, of `size` bytes. */
function newAttachment(r: () => number, n: number): Attachment {
  const size = attachmentSize(r);
  const kind = r();
  if (kind < 0.6) {
    const head = Buffer.from(
      `%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n` +
        `3 0 obj\n<< /Length ${size} /Filter /FlateDecode >>\nstream\n`,
      'latin1',
    );
    const tail = Buffer.from(`\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n`, 'latin1');
    return {
      filename: `${words(r, 1)}-${n}.pdf`,
      contentType: 'application/pdf',
      content: Buffer.concat([head, noise(r, Math.max(0, size - head.length - tail.length)), tail]),
    };
  }
  if (kind < 0.85)
    return {
      filename: `IMG_${1000 + n}.jpg`,
      contentType: 'image/jpeg',
      content: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), noise(r, size - 6), Buffer.from([0xff, 0xd9])]),
    };
  return {
    filename: `screenshot-${n}.png`,
    contentType: 'image/png',
    content: Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), noise(r, size - 8)]),
  };
}

const b64 = (b: Buffer) => b.toString('base64').replace(/.{76}/g, '$&\r\n');

/** The whole data set, generated up front from the seed (so generation costs nothing during the run). */
export function storageDataSet(count = MAILS, seed = SEED): StorageMail[] {
  const plan = planMails(count, Math.max(1, Math.round(count / 2)), seed);
  const r = rng(seed);
  const sent: Attachment[] = [];
  let files = 0;
  const pick = (): { a: Attachment; resent: boolean } => {
    if (sent.length && r() < 0.1) return { a: sent[Math.floor(r() * sent.length)], resent: true };
    const a = newAttachment(r, files++);
    sent.push(a);
    return { a, resent: false };
  };
  return plan.order.map(({ sender, nth }, i) => {
    const shape = r();
    const picks = shape < 0.6 ? [] : shape < 0.9 ? [pick()] : Array.from({ length: 2 + Math.floor(r() * 3) }, pick);
    const attachments = picks.map((p) => p.a);
    const from = `customer${sender}@client${sender % 89}.example`;
    const messageId = `storage.${seed}.${sender}.${nth}@client${sender % 89}.example`;
    const inReplyTo = nth > 0 ? `storage.${seed}.${sender}.${nth - 1}@client${sender % 89}.example` : null;
    const subjectBase = `${words(rng(sender + 1), 4)} (${sender})`;
    const body = `Hello,\r\n\r\n${text(r, 600 + Math.floor(r() * 3000))}\r\n\r\nRegards,\r\nCustomer ${sender}\r\n`;
    const headers = [
      `From: Customer ${sender} <${from}>`,
      'To: MailDesk Support <support@desk.test>',
      `Subject: ${nth ? 'Re: ' : ''}${subjectBase}`,
      `Date: ${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${messageId}>`,
      ...(inReplyTo ? [`In-Reply-To: <${inReplyTo}>`, `References: <${inReplyTo}>`] : []),
      'MIME-Version: 1.0',
    ];
    const plain = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', body];
    const withHtml = r() < 0.5;
    const html = `<html><body><p>${body.replace(/\r\n\r\n/g, '</p><p>').replace(/\r\n/g, '<br>')}</p></body></html>`;
    const alternative = (boundary: string) => [
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      ...plain,
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      html,
      `--${boundary}--`,
      '',
    ];
    const textPart = withHtml ? alternative(`alt${i}`) : plain;
    let lines: string[];
    if (!attachments.length) lines = [...headers, ...textPart];
    else {
      const boundary = `mix${i}`;
      lines = [
        ...headers,
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        ...textPart,
        ...attachments.flatMap((a) => [
          `--${boundary}`,
          `Content-Type: ${a.contentType}; name="${a.filename}"`,
          `Content-Disposition: attachment; filename="${a.filename}"`,
          'Content-Transfer-Encoding: base64',
          '',
          b64(a.content),
        ]),
        `--${boundary}--`,
        '',
      ];
    }
    return {
      raw: Buffer.from(lines.join('\r\n'), 'utf8'),
      messageId,
      attachments,
      resent: picks.filter((p) => p.resent).length,
    };
  });
}

/** Bytes of the files under `dir` (and their allocated blocks); null when it does not exist. */
function dirSize(dir: string): { bytes: number; allocated: number; files: number } | null {
  const out = { bytes: 0, allocated: 0, files: 0 };
  if (!fs.existsSync(dir)) return null;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const st = fs.statSync(path.join(entry.parentPath, entry.name));
    out.bytes += st.size;
    out.allocated += st.blocks * 512;
    out.files++;
  }
  return out;
}

interface TableSize {
  table: string;
  total: number;
  heap: number;
  toast: number;
  indexes: number;
}

/** pg_database_size and, per table, heap / TOAST (with its index) / indexes / total. */
async function databaseSizes(url: string, tables: string[]): Promise<{ database: number; tables: TableSize[] }> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await pool.query('CHECKPOINT').catch(() => undefined); // needs superuser; sizes are on disk either way
    const db = await pool.query(`SELECT pg_database_size(current_database())::bigint AS n`);
    const rows = await pool.query<{ table: string; total: string; heap: string; toast: string; indexes: string }>(
      `SELECT c.relname AS table, pg_total_relation_size(c.oid) AS total, pg_relation_size(c.oid) AS heap,
              coalesce(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) AS toast, pg_indexes_size(c.oid) AS indexes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY($1)`,
      [tables],
    );
    return {
      database: Number(db.rows[0].n),
      tables: tables.map((t) => {
        const r = rows.rows.find((x) => x.table === t);
        return {
          table: t,
          total: Number(r?.total ?? 0),
          heap: Number(r?.heap ?? 0),
          toast: Number(r?.toast ?? 0),
          indexes: Number(r?.indexes ?? 0),
        };
      }),
    };
  } finally {
    await pool.end();
  }
}

const MB = 2 ** 20;
const mb = (n: number) => round(n / MB);
const scaled = (n: number) => (n * PER) / MAILS;

/** The blob store's directory: BLOB_STORE_URL unset is DATA_DIR/blobs; file:// its path; s3:// none here. */
function blobDir(dataDir: string): string | null {
  const url = process.env.BLOB_STORE_URL;
  if (!url) return path.join(dataDir, 'blobs');
  if (url.startsWith('file://')) return new URL(url).pathname;
  return null;
}

export async function storageSize(): Promise<void> {
  console.log(`generating ${MAILS} mails (seed ${SEED})...`);
  const mails = storageDataSet();
  const attachments = mails.flatMap((m) => m.attachments);
  const unique = new Set(attachments);
  const rawBytes = mails.reduce((s, m) => s + m.raw.length, 0);
  const attachmentBytes = attachments.reduce((s, a) => s + a.content.length, 0);
  const uniqueBytes = [...unique].reduce((s, a) => s + a.content.length, 0);
  const shapes = {
    none: mails.filter((m) => !m.attachments.length).length,
    one: mails.filter((m) => m.attachments.length === 1).length,
    several: mails.filter((m) => m.attachments.length > 1).length,
  };
  const resent = mails.reduce((s, m) => s + m.resent, 0);
  console.log(
    `${MAILS} mails, ${mb(rawBytes)} MB raw: ${shapes.none} without attachment, ${shapes.one} with one, ` +
      `${shapes.several} with several; ${attachments.length} attachments (${mb(attachmentBytes)} MB), ` +
      `${resent} of them a file sent before (${unique.size} distinct files, ${mb(uniqueBytes)} MB)`,
  );

  const db = await createDatabase('bench_storage');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-storage-'));
  try {
    const app = await startApp({ DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'log' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const failures: string[] = [];
    let seconds: number;
    try {
      console.log(`posting to the webhook, ${CONCURRENCY} connections...`);
      ({ seconds } = await runPool(mails.length, CONCURRENCY, async (i) => {
        const res = await postMail(app.base, mails[i].raw, agent);
        if (res.status !== 200 || !/"status":"(created|appended)"/.test(res.body))
          failures.push(`${i}: ${res.status} ${res.body.slice(0, 200)}`);
      }));
    } finally {
      agent.destroy();
      await app.stop();
    }
    if (failures.length)
      throw new Error(`${failures.length} webhook calls failed, e.g. ${failures.slice(0, 3).join('; ')}`);

    const tables = ['inbound_mail', 'attachments', 'messages'];
    const sizes = await databaseSizes(db.url, tables);
    const pool = new Pool({ connectionString: db.url, max: 1 });
    const counts = (
      await pool
        .query(
          `SELECT (SELECT count(*) FROM inbound_mail)::int AS inbound, (SELECT count(*) FROM attachments)::int AS attachments`,
        )
        .finally(() => pool.end())
    ).rows[0] as { inbound: number; attachments: number };
    if (counts.inbound !== MAILS) throw new Error(`expected ${MAILS} rows in inbound_mail, found ${counts.inbound}`);
    const dir = blobDir(dataDir);
    const blobs = dir ? dirSize(dir) : null;

    console.log(`\nstored ${counts.inbound} mails and ${counts.attachments} attachments in ${round(seconds)} s`);
    console.log(`sizes after ${MAILS} mails, and scaled LINEARLY from ${MAILS} to ${PER.toLocaleString('en')} mails:`);
    const line = (name: string, bytes: number) =>
      console.log(
        `  ${name.padEnd(34)} ${String(mb(bytes)).padStart(9)} MB   per 100k: ${round(scaled(bytes) / 2 ** 30, 2)} GB`,
      );
    line('database (pg_database_size)', sizes.database);
    for (const t of sizes.tables) {
      line(`${t.table} (total)`, t.total);
      line(`  heap`, t.heap);
      line(`  TOAST`, t.toast);
      line(`  indexes`, t.indexes);
    }
    if (blobs) line(`blob store ${dir} (${blobs.files} files)`, blobs.allocated);
    else if (dir) console.log(`  blob store: no ${dir} (bytes stored in the database)`);
    else console.log(`  blob store: ${process.env.BLOB_STORE_URL} is not a directory here: not measured`);
    line('database + blob store', sizes.database + (blobs?.allocated ?? 0));
    line('(input: raw mail)', rawBytes);
    line('(input: distinct attachment bytes)', uniqueBytes);

    await record('storage size', [
      { metric: 'mails', value: MAILS },
      { metric: 'seed', value: SEED },
      { metric: 'raw_mail_mb', value: mb(rawBytes) },
      { metric: 'attachments', value: attachments.length },
      { metric: 'attachment_mb', value: mb(attachmentBytes) },
      { metric: 'distinct_attachment_mb', value: mb(uniqueBytes) },
      { metric: 'ingest_s', value: round(seconds) },
      { metric: 'database_mb', value: mb(sizes.database) },
      { metric: 'database_per_100k_mb', value: Math.round(scaled(sizes.database) / MB) },
      ...sizes.tables.flatMap((t) => [
        { case: t.table, metric: 'total_mb', value: mb(t.total) },
        { case: t.table, metric: 'heap_mb', value: mb(t.heap) },
        { case: t.table, metric: 'toast_mb', value: mb(t.toast) },
        { case: t.table, metric: 'indexes_mb', value: mb(t.indexes) },
        { case: t.table, metric: 'total_per_100k_mb', value: Math.round(scaled(t.total) / MB) },
      ]),
      { metric: 'blob_files', value: blobs?.files ?? NaN },
      { metric: 'blob_mb', value: blobs ? mb(blobs.allocated) : NaN },
      { metric: 'blob_per_100k_mb', value: blobs ? Math.round(scaled(blobs.allocated) / MB) : NaN },
      {
        metric: 'total_per_100k_mb',
        value: Math.round(scaled(sizes.database + (blobs?.allocated ?? 0)) / MB),
      },
    ]);
    console.log(`(per 100k: scaled linearly from ${MAILS} mails)`);
  } finally {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(typeof module === 'object' ? module : undefined, storageSize);
