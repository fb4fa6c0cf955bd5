import { HttpException } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import type { InboundMailService } from '../inbound-mail.service';
import type { IngestResult } from '../ingest-result';
import { mailgunSignatureOf } from './mailgun-signature';
import type { ProviderForm } from './provider-form';
import type { ReplayClaim, ReplayStore } from './provider-replay.repository';
import { ProviderInboundService } from './providers.service';

/** The replay table in memory. */
class FakeReplay implements ReplayStore {
  rows = new Map<string, { sha: string; done: boolean }>();
  claim(provider: string, token: string, sha: string): Promise<ReplayClaim> {
    const row = this.rows.get(`${provider}:${token}`);
    if (!row) {
      this.rows.set(`${provider}:${token}`, { sha, done: false });
      return Promise.resolve('fresh');
    }
    return Promise.resolve(row.sha === sha && !row.done ? 'retry' : 'replay');
  }
  complete(provider: string, token: string): Promise<void> {
    this.rows.get(`${provider}:${token}`)!.done = true;
    return Promise.resolve();
  }
  prune(): Promise<void> {
    return Promise.resolve();
  }
}

describe('ProviderInboundService (Mailgun)', () => {
  const key = 'key-0123456789abcdef';
  const config = { inbound: { mailgunSigningKey: key } } as unknown as AppConfig;
  const raw = 'From: a@customer.test\r\nMessage-ID: <x@customer.test>\r\n\r\nhi\r\n';
  const form = (token: string, body = raw): ProviderForm => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
      fields: {
        timestamp,
        token,
        signature: mailgunSignatureOf(key, timestamp, token),
        'body-mime': body,
        recipient: 'Support@Desk.test',
      },
      files: [],
    };
  };
  let replay: FakeReplay;
  let calls: Array<{ raw: string; envelopeTo: unknown }>;
  let fail: Error | null;
  let service: ProviderInboundService;

  beforeEach(() => {
    replay = new FakeReplay();
    calls = [];
    fail = null;
    const inbound = {
      ingest: (buffer: Buffer, _source: string, options: { envelopeTo?: unknown }): Promise<IngestResult> => {
        if (fail) return Promise.reject(fail);
        calls.push({ raw: buffer.toString(), envelopeTo: options.envelopeTo });
        return Promise.resolve({ status: 'created', requestId: 1, messageId: 'x@customer.test', reason: null });
      },
    } as unknown as InboundMailService;
    service = new ProviderInboundService(config, inbound, replay);
  });

  const status = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: unknown) => (e instanceof HttpException ? e.getStatus() : 500),
    );

  it('ingests body-mime with the envelope recipient, then refuses the same token again (406)', async () => {
    const call = form('t1');
    await expect(service.receiveMailgun(call)).resolves.toMatchObject({ results: [{ status: 'created' }] });
    expect(calls).toEqual([{ raw, envelopeTo: ['support@desk.test'] }]);
    await expect(status(service.receiveMailgun(call))).resolves.toBe(406);
    expect(calls).toHaveLength(1);
  });

  it('takes the same call again after a failure, but not its token with another body', async () => {
    fail = new Error('database down');
    const call = form('t2');
    await expect(service.receiveMailgun(call)).rejects.toThrow('database down');
    await expect(status(service.receiveMailgun(form('t2', 'From: evil@x.test\r\n\r\nx')))).resolves.toBe(406);
    fail = null;
    await expect(service.receiveMailgun(call)).resolves.toMatchObject({ results: [{ status: 'created' }] });
  });

  it('answers 503 without a signing key, before looking at the call', async () => {
    const unconfigured = new ProviderInboundService(
      { inbound: {} } as unknown as AppConfig,
      {} as InboundMailService,
      replay,
    );
    await expect(status(unconfigured.receiveMailgun(form('t3')))).resolves.toBe(503);
    expect(replay.rows.size).toBe(0);
  });
});
