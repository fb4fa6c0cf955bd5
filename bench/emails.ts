import { rng } from './lib';

const WORDS = (
  'printer broken screen login password account invoice order delivery refund laptop network wifi vpn email ' +
  'calendar meeting office floor error message restart update install license server backup disk slow crash ' +
  'please help urgent thanks regards hello team since yesterday morning again still working cannot open file ' +
  'report monthly customer support ticket issue question access permission shared folder phone headset'
).split(' ');

/** One generated email: the raw MIME and the fields MailDesk would parse out of it (for the SQL ceiling). */
export interface BenchMail {
  raw: Buffer;
  messageId: string;
  from: string;
  fromName: string;
  subject: string;
  text: string;
  inReplyTo: string | null;
  attachment: { filename: string; content: Buffer } | null;
}

/** Shape of the data set: who writes when. */
export interface MailPlan {
  count: number;
  senders: number;
  /** Per email, in sending order: sender number and its n-th mail. */
  order: Array<{ sender: number; nth: number }>;
}

/**
 * `count` emails from `senders` senders (count/senders each), interleaved in a seeded random
 * order, so about `senders` open new requests and the rest are follow-ups.
 */
export function planMails(count: number, senders: number, seed = 42): MailPlan {
  const r = rng(seed);
  const items: Array<{ sender: number; nth: number; at: number }> = [];
  const per = Math.ceil(count / senders);
  for (let s = 0; s < senders; s++) {
    const times = Array.from({ length: per }, () => r()).sort((a, b) => a - b);
    times.forEach((at, nth) => items.push({ sender: s, nth, at }));
  }
  items.sort((a, b) => a.at - b.at);
  return { count, senders, order: items.slice(0, count).map(({ sender, nth }) => ({ sender, nth })) };
}

function words(r: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  return out.join(' ');
}

/** About `bytes` of text in lines of ~72 characters. */
function paragraph(r: () => number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = words(r, 11);
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join('\r\n');
}

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(r() * 4294967296), i - (i + 4 > n ? i + 4 - n : 0));
  return b;
}

const senderAddress = (s: number) => `customer${s}@client${s % 97}.example`;
export const benchMessageId = (tag: string, sender: number, nth: number) =>
  `${tag}.${sender}.${nth}@client${sender % 97}.example`;

/**
 * The `i`-th email of the plan, generated deterministically: ~4 KB of text, one in ten with a
 * 100 KB PDF attachment; follow-ups answer the sender's previous mail (In-Reply-To/References).
 */
export function makeMail(plan: MailPlan, i: number, tag = 'bench', attachmentEvery = 10): BenchMail {
  const { sender, nth } = plan.order[i];
  const r = rng(sender * 1000 + nth + 1);
  const topic = rng(sender + 7);
  const baseSubject = `${words(topic, 4)} (${sender})`;
  const subject = nth === 0 ? baseSubject : `Re: ${baseSubject}`;
  const from = senderAddress(sender);
  const fromName = `Customer ${sender}`;
  const messageId = benchMessageId(tag, sender, nth);
  const inReplyTo = nth > 0 ? benchMessageId(tag, sender, nth - 1) : null;
  const text = `Hello,\r\n\r\n${paragraph(r, 4000)}\r\n\r\nRegards,\r\n${fromName}\r\n`;
  const withAttachment = attachmentEvery > 0 && (sender * 31 + nth) % attachmentEvery === 0;
  const attachment = withAttachment
    ? { filename: `scan-${sender}-${nth}.pdf`, content: randomBytes(r, 100 * 1024) }
    : null;
  const headers = [
    `From: ${fromName} <${from}>`,
    'To: MailDesk Support <support@desk.test>',
    `Subject: ${subject}`,
    `Date: ${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${messageId}>`,
    ...(inReplyTo ? [`In-Reply-To: <${inReplyTo}>`, `References: <${inReplyTo}>`] : []),
    'MIME-Version: 1.0',
  ];
  let body: string;
  if (!attachment) {
    headers.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
    body = text;
  } else {
    const boundary = `b${sender}x${nth}`;
    headers.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
    const b64 = attachment.content.toString('base64').replace(/.{76}/g, '$&\r\n');
    body = [
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      `--${boundary}`,
      `Content-Type: application/pdf; name="${attachment.filename}"`,
      `Content-Disposition: attachment; filename="${attachment.filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      `--${boundary}--`,
      '',
    ].join('\r\n');
  }
  const raw = Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`, 'utf8');
  return { raw, messageId, from, fromName, subject, text, inReplyTo, attachment };
}
