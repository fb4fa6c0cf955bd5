import { HttpException } from '@nestjs/common';
import { InboundMailService } from '../inbound-mail/inbound-mail.service';
import type { IngestResult } from '../inbound-mail/ingest-result';
import { CliError, positiveInt, UsageError } from './args';
import { Command, say } from './command';

const PAGE = 100;

function oneLine(s: string | null | undefined, max: number): string {
  const t = (s ?? '').replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

function describe(result: IngestResult): string {
  const request = result.requestId ? ` request ${result.requestId}` : '';
  return `${result.status}${request}${result.reason ? ` (${oneLine(result.reason, 200)})` : ''}`;
}

/** `quarantine:list`: quarantined mail, newest first, one line each. */
export const quarantineList: Command = {
  name: 'quarantine:list',
  readOnly: true,
  usage: '[--page N] [--limit N]',
  summary: 'list quarantined mail, newest first (id, received, source, from, subject, reason)',
  spec: { values: ['page', 'limit'] },
  prepare(args) {
    const page = positiveInt(args, 'page', 1, 1_000_000);
    const limit = positiveInt(args, 'limit', 50, 1000);
    return async (ctx) => {
      const { items, total } = await ctx.app.get(InboundMailService).listQuarantined(page, limit);
      if (!total) {
        say('no quarantined mail');
        return 0;
      }
      for (const m of items) {
        say(
          [
            m.id,
            m.receivedAt.toISOString(),
            m.source,
            m.fromAddress ?? '-',
            `"${oneLine(m.subject, 60)}"`,
            oneLine(m.reason, 120),
          ].join('  '),
        );
      }
      const first = (page - 1) * limit + 1;
      say(
        items.length
          ? `${first}-${first + items.length - 1} of ${total} quarantined`
          : `${total} quarantined (none on page ${page})`,
      );
      return 0;
    };
  },
};

/** `quarantine:replay`: runs one quarantined mail, or all of them, through the pipeline again. */
export const quarantineReplay: Command = {
  name: 'quarantine:replay',
  usage: 'ID | --all',
  summary: 'run a quarantined mail (or --all of them) through the inbound pipeline again',
  spec: { flags: ['all'], positional: [0, 1] },
  prepare(args) {
    const all = args.options.all === true;
    const id = args.positional[0];
    if (all === (id !== undefined)) throw new UsageError('give either the id of a quarantined mail or --all');
    if (id !== undefined && !/^[1-9]\d{0,18}$/.test(id))
      throw new UsageError(`the id must be a positive integer (got "${id}")`);
    return async (ctx) => {
      const inbound = ctx.app.get(InboundMailService);
      const ids = id ? [id] : await allQuarantinedIds(inbound);
      let stillQuarantined = 0;
      for (const one of ids) {
        const result = await inbound.replay(one).catch((e: Error) => {
          throw e instanceof HttpException ? new CliError(e.message) : e;
        });
        if (result.status === 'quarantined') stillQuarantined++;
        say(`${one}: ${describe(result)}`);
      }
      if (all)
        say(
          `replayed ${ids.length}; ${ids.length - stillQuarantined} processed, ${stillQuarantined} still quarantined`,
        );
      return 0;
    };
  },
};

/** Every quarantined id, collected before replaying (a replay takes rows out of the list). */
async function allQuarantinedIds(inbound: InboundMailService): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const { items, total } = await inbound.listQuarantined(page, PAGE);
    ids.push(...items.map((m) => m.id));
    if (!items.length || ids.length >= total) return ids.reverse();
  }
}
