import { ImapFlow } from 'imapflow';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InboundMailService } from '../inbound-mail/inbound-mail.service';
import {
  IMAP_CONNECTION_TIMEOUT_MS,
  IMAP_GREETING_TIMEOUT_MS,
  IMAP_SOCKET_TIMEOUT_MS,
} from '../inbound-mail/imap/imap-poller.service';
import { ImapTarget, parseImapUrl } from '../inbound-mail/imap/imap-url';
import { CliError, UsageError } from './args';
import { Command, say } from './command';
import type { CliContext } from './context';
import { MboxError, readMboxMessages } from './mbox';
import { formatCounts, ImportProgress } from './progress';

/** UIDs fetched per FETCH command, as the poller does. */
const IMAP_BATCH = 200;

/** Ingests one old mail as history: stored and threaded as usual, never answered. */
function historyIngest(
  ctx: CliContext,
): (raw: Buffer, envelopeFrom?: string | null) => ReturnType<InboundMailService['ingest']> {
  const inbound = ctx.app.get(InboundMailService);
  return (raw, envelopeFrom) => inbound.ingest(raw, 'cli', { history: true, envelopeFrom, handOver: true });
}

function summary(progress: ImportProgress, from: string): number {
  progress.end();
  say(`imported ${progress.processed} mails from ${from}: ${formatCounts(progress.counts)}`);
  return 0;
}

/** `import:mbox`: every message of an mbox file, as history (no auto-replies); re-running is harmless. */
export const importMbox: Command = {
  name: 'import:mbox',
  usage: 'FILE',
  summary: 'import an mbox export as history (no auto-replies); a re-run finds duplicates',
  spec: { positional: [1, 1] },
  prepare(args) {
    const file = path.resolve(args.positional[0]);
    return async (ctx) => {
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch (e) {
        throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const ingest = historyIngest(ctx);
      const progress = new ImportProgress(`import ${path.basename(file)}`);
      const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
      try {
        // The `From ` line's sender is the envelope sender: the last fallback for a mail without a From address.
        for await (const { raw, envelopeFrom } of readMboxMessages(stream)) {
          progress.record(await ingest(raw, envelopeFrom), size ? stream.bytesRead / size : 1);
        }
      } catch (e) {
        if (e instanceof MboxError) throw new CliError(`${file}: ${e.message}`);
        throw e;
      } finally {
        stream.destroy();
      }
      return summary(progress, file);
    };
  },
};

/** `import:imap`: every message of one IMAP folder, read-only (no flags changed), as history. */
export const importImap: Command = {
  name: 'import:imap',
  usage: 'imap[s]://USER:PASSWORD@HOST[:PORT]/FOLDER',
  summary: 'import an IMAP folder as history (no auto-replies; read-only); a re-run finds duplicates',
  spec: { positional: [1, 1] },
  prepare(args) {
    let target: ImapTarget;
    try {
      target = parseImapUrl(args.positional[0]);
    } catch (e) {
      throw new UsageError((e as Error).message.replace('IMAP_URL', 'the IMAP URL'));
    }
    return async (ctx) => {
      const ingest = historyIngest(ctx);
      const client = new ImapFlow({
        host: target.host,
        port: target.port,
        secure: target.secure,
        auth: { user: target.user, pass: target.password },
        tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2' },
        logger: false,
        connectionTimeout: IMAP_CONNECTION_TIMEOUT_MS,
        greetingTimeout: IMAP_GREETING_TIMEOUT_MS,
        socketTimeout: IMAP_SOCKET_TIMEOUT_MS,
      });
      client.on('error', () => undefined); // failures surface as rejected commands
      try {
        await client.connect();
      } catch (e) {
        throw new CliError(`cannot log in to ${target.key}: ${describeImapError(e)}`);
      }
      const progress = new ImportProgress(`import ${target.mailbox}`);
      try {
        const lock = await client.getMailboxLock(target.mailbox, { readOnly: true }).catch((e: unknown) => {
          throw new CliError(`cannot open ${target.mailbox} on ${target.key}: ${describeImapError(e)}`);
        });
        try {
          const uids = ((await client.search({ all: true }, { uid: true })) || []).sort((a, b) => a - b);
          for (let i = 0; i < uids.length; i += IMAP_BATCH) {
            const batch = new Set(uids.slice(i, i + IMAP_BATCH));
            const range = `${uids[i]}:${uids[Math.min(i + IMAP_BATCH, uids.length) - 1]}`;
            for await (const msg of client.fetch(range, { uid: true, source: true }, { uid: true })) {
              if (!batch.has(msg.uid)) continue;
              if (!msg.source) throw new CliError(`UID ${msg.uid}: the server returned no message source`);
              progress.record(await ingest(msg.source), (progress.processed + 1) / uids.length);
            }
          }
        } finally {
          lock.release();
        }
      } finally {
        await client.logout().catch(() => client.close());
      }
      return summary(progress, target.key);
    };
  },
};

function describeImapError(e: unknown): string {
  const err = e as Error & { code?: string; responseText?: string };
  return [err.responseText || err.message, err.code].filter(Boolean).join(': ') || String(e);
}
