import { mailFrom } from '../../../test/fakes/parsed-mail';
import type { BlockedPattern } from '../../blocklist/blocklist.service';
import { loadConfig } from '../../config/config';
import { filterMail, runFilters, type SenderBlocklist } from './index';

const config = loadConfig({ SUPPORT_ADDRESS: 'support@desk.test' });
const headers = (h: Record<string, string>) => new Map(Object.entries(h));

/** A blocklist that blocks the addresses (and `@domain`s) it is given. */
function blocklist(...patterns: string[]): SenderBlocklist {
  return {
    match: (address: string) => {
      const pattern = patterns.find((p) => p === address || (p.startsWith('@') && address.endsWith(p)));
      return Promise.resolve(pattern ? ({ pattern } as BlockedPattern) : null);
    },
  };
}
const NOBODY_BLOCKED = blocklist();

describe('filters: automatic mail is filed, never answered', () => {
  it.each([
    [{ 'auto-submitted': 'auto-replied' }, 'automatic: Auto-Submitted: auto-replied'],
    [{ 'auto-submitted': 'Auto-Generated (vacation)' }, 'automatic: Auto-Submitted: auto-generated (vacation)'],
    [{ precedence: 'bulk' }, 'automatic: Precedence: bulk'],
    [{ precedence: 'list' }, 'automatic: Precedence: list'],
    [{ 'x-auto-response-suppress': 'All' }, 'automatic: x-auto-response-suppress header'],
    [{ 'x-autoreply': 'yes' }, 'automatic: x-autoreply header'],
    [{ 'x-loop': 'helpdesk@elsewhere.test' }, 'automatic: x-loop header'],
    [{ 'list-id': '<users.lists.test>' }, 'automatic: list-id header'],
  ])('%j -> automatic', async (h, reason) => {
    const mail = mailFrom('c@example.com', { headers: headers(h) });
    await expect(filterMail(mail, config, NOBODY_BLOCKED)).resolves.toEqual({ action: 'automatic', reason });
  });

  it("lets a person's mail through (Auto-Submitted: no, Precedence: first-class)", async () => {
    const mail = mailFrom('c@example.com', { headers: headers({ 'auto-submitted': 'no', precedence: 'first-class' }) });
    await expect(filterMail(mail, config, NOBODY_BLOCKED)).resolves.toEqual({ action: 'continue' });
  });
});

describe('filters: bounces and loops', () => {
  it('takes a delivery status report for a bounce', async () => {
    const mail = mailFrom('c@example.com', { contentType: 'multipart/report', reportType: 'delivery-status' });
    await expect(filterMail(mail, config, NOBODY_BLOCKED)).resolves.toEqual({
      action: 'bounce',
      reason: 'bounce: delivery status report',
    });
  });

  it('takes mail from a mail system or with a null Return-Path for a bounce, before the automatic headers', async () => {
    const daemon = mailFrom('MAILER-DAEMON@mx.test'.toLowerCase(), {
      headers: headers({ 'auto-submitted': 'auto-replied' }),
    });
    expect(runFilters(daemon, config)).toEqual({ action: 'bounce', reason: 'bounce: sent by mailer-daemon@mx.test' });
    const nullPath = mailFrom('c@example.com', { headers: headers({ 'return-path': '<>' }) });
    expect(runFilters(nullPath, config)).toEqual({ action: 'bounce', reason: 'bounce: null Return-Path' });
  });

  it("ignores the desk's own mail coming back: its address, its Message-ID, its X-Loop", async () => {
    const own = [
      mailFrom('support@desk.test'),
      mailFrom('c@example.com', { messageId: 'md-42.1@desk.test' }),
      mailFrom('c@example.com', { headers: headers({ 'x-loop': 'support@desk.test' }) }),
    ];
    const decisions = await Promise.all(own.map((m) => filterMail(m, config, NOBODY_BLOCKED)));
    expect(decisions.map((d) => d.action)).toEqual(['ignore', 'ignore', 'ignore']);
    expect(decisions[2]).toEqual({ action: 'ignore', reason: 'own mail: X-Loop names the support address' });
  });

  it('knows every mailbox address and alias: mail between two of our mailboxes is ignored, never answered', async () => {
    const own = new Set(['support@desk.test', 'billing@desk.test', 'invoices@desk.test']);
    const fromBilling = mailFrom('billing@desk.test', { headers: headers({ 'auto-submitted': 'auto-replied' }) });
    await expect(filterMail(fromBilling, config, NOBODY_BLOCKED, own)).resolves.toEqual({
      action: 'ignore',
      reason: 'own mail: sent from our mailbox billing@desk.test',
    });
    await expect(filterMail(mailFrom('invoices@desk.test'), config, NOBODY_BLOCKED, own)).resolves.toMatchObject({
      action: 'ignore',
    });
    const looped = mailFrom('c@example.com', { headers: headers({ 'x-loop': '<Billing@desk.test>' }) });
    await expect(filterMail(looped, config, NOBODY_BLOCKED, own)).resolves.toEqual({
      action: 'ignore',
      reason: 'own mail: X-Loop names our mailbox billing@desk.test',
    });
    await expect(filterMail(mailFrom('c@example.com'), config, NOBODY_BLOCKED, own)).resolves.toEqual({
      action: 'continue',
    });
  });

  it('ignores our own bounce loop before calling it a bounce: own mail wins', async () => {
    const mail = mailFrom('support@desk.test', { contentType: 'multipart/report', reportType: 'delivery-status' });
    expect(runFilters(mail, config)).toEqual({ action: 'ignore', reason: 'own mail: sent from the support address' });
  });
});

describe('filters: the sender', () => {
  it('ignores mail of a blocked sender, automatic or not', async () => {
    const blocked = blocklist('@spam.test');
    await expect(filterMail(mailFrom('x@spam.test'), config, blocked)).resolves.toEqual({
      action: 'ignore',
      reason: 'sender is blocked: @spam.test',
    });
    const automatic = mailFrom('x@spam.test', { headers: headers({ precedence: 'bulk' }) });
    await expect(filterMail(automatic, config, blocked)).resolves.toMatchObject({ action: 'ignore' });
  });

  it('does not ask the blocklist about bounces and own mail', async () => {
    const asked: string[] = [];
    const spy: SenderBlocklist = { match: (a: string) => (asked.push(a), Promise.resolve(null)) };
    await filterMail(mailFrom('postmaster@mx.test'), config, spy);
    await filterMail(mailFrom('support@desk.test'), config, spy);
    expect(asked).toEqual([]);
  });

  it('quarantines mail that would go on a request without a sender address', async () => {
    const anonymous = mailFrom('', { from: null, senderSource: null });
    await expect(filterMail(anonymous, config, NOBODY_BLOCKED)).resolves.toEqual({
      action: 'quarantine',
      reason: 'no sender address in From',
    });
    const anonymousBounce = { ...anonymous, contentType: 'multipart/report', reportType: 'delivery-status' };
    await expect(filterMail(anonymousBounce, config, NOBODY_BLOCKED)).resolves.toMatchObject({ action: 'bounce' });
  });

  it('quarantines mail larger than INBOUND_MAX_BYTES', async () => {
    const big = mailFrom('c@example.com', { size: config.mail.maxInboundBytes + 1 });
    await expect(filterMail(big, config, NOBODY_BLOCKED)).resolves.toEqual({
      action: 'quarantine',
      reason: `too large: ${big.size} bytes (limit ${config.mail.maxInboundBytes})`,
    });
  });
});
