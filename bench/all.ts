import { imapIngest, LATENCY_NOOP_MS, mailToReply } from './imap';
import { hasDovecot, main } from './lib';
import { manyMailboxes } from './mailboxes';
import { memory, startTimes } from './memory-start';
import { smtpListener } from './smtp-listener';
import { queueAtScale, searchAt100k } from './queue-at-scale';
import { webhookIngest } from './webhook-ingest';

/** `npm run bench`: every scenario in turn; each prints its figures and appends them to bench/results/runs.csv. */
main(typeof module === 'object' ? module : undefined, async () => {
  const t0 = Date.now();
  const step = async (name: string, fn: () => Promise<unknown>) => {
    const s = Date.now();
    console.log(`\n=== ${name} ===`);
    await fn();
    console.log(`=== ${name}: ${Math.round((Date.now() - s) / 1000)} s ===`);
  };
  // Start times first, on a quiet machine: right after the queue scenario PostgreSQL is still
  // dropping and checkpointing a 1M-request database, which doubled the embedded start (8.4 s).
  await step('start time', () => startTimes());
  let webhookRate: number | undefined;
  await step('webhook ingest', async () => {
    webhookRate = (await webhookIngest()).app.rate;
  });
  await step('SMTP listener', () => smtpListener());
  if (hasDovecot()) {
    await step('IMAP ingest', () => imapIngest(webhookRate));
    await step('mail-to-reply latency', () => mailToReply());
    if (LATENCY_NOOP_MS) await step('mail-to-reply latency, NOOP polling', () => mailToReply(LATENCY_NOOP_MS));
    await step('20 mailboxes', () => manyMailboxes());
  } else {
    console.warn('dovecot is not installed (apt-get install -y dovecot-imapd): IMAP scenarios skipped');
  }
  await step('memory', () => memory());
  await step('queue at scale', () => queueAtScale());
  await step('search at 100k', () => searchAt100k());
  console.log(`\nall scenarios in ${Math.round((Date.now() - t0) / 1000)} s`);
});
