import { Logger } from '@nestjs/common';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { leasesHanding } from '../../test/fakes/leases';
import { hmacSignatureMatches } from '../common/hmac-signature';
import { loadConfig } from '../config/config';
import { WebhookDispatcher } from './webhook.dispatcher';
import type { ClaimedDelivery, WebhooksStore } from './webhooks.repository';

/** What the receiver got. */
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('WebhookDispatcher', () => {
  let server: http.Server;
  let url: string;
  let answer = 200;
  const received: Received[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(answer).end('ignored');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  /** Dispatches one claimed delivery to `target`; what the queue recorded of it. */
  async function deliver(target: string, allowPrivate = true) {
    const row: ClaimedDelivery = {
      id: 31,
      webhookId: 1,
      event: 'request.created',
      payload: {
        event: 'request.created',
        occurredAt: '2025-11-25T10:00:00.000Z',
        data: { requestId: 42, subject: 'Café' },
      },
      status: 'pending',
      attempts: 1,
      nextAttemptAt: new Date(),
      lastStatusCode: null,
      lastError: null,
      deliveredAt: null,
      createdAt: new Date(),
      url: target,
      secret: 'whsec_test',
    };
    const leases = leasesHanding([row]);
    const config = loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: String(allowPrivate) });
    const dispatcher = new WebhookDispatcher({ leases } as unknown as WebhooksStore, config);
    try {
      await dispatcher.dispatchOnce();
    } finally {
      await dispatcher.onModuleDestroy();
    }
    return leases;
  }

  it('POSTs the payload as JSON, signed with the webhook secret, and marks it delivered with the status', async () => {
    answer = 204;
    received.length = 0;
    const leases = await deliver(url);
    expect(leases.markDone).toHaveBeenCalledWith(31, [204]);
    const [{ headers, body }] = received;
    expect(JSON.parse(body)).toEqual({
      event: 'request.created',
      occurredAt: '2025-11-25T10:00:00.000Z',
      data: { requestId: 42, subject: 'Café' },
    });
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'MailDesk-Webhooks/1',
      'x-maildesk-event': 'request.created',
      'x-maildesk-delivery': '31',
    });
    const timestamp = headers['x-maildesk-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(headers['x-maildesk-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(hmacSignatureMatches('whsec_test', timestamp, body, headers['x-maildesk-signature'] as string)).toBe(true);
  });

  it.each([
    [503, 'retryIn'],
    [429, 'retryIn'],
    [408, 'retryIn'],
    [404, 'markFailed'],
  ] as const)('records HTTP %i with %s', async (status, method) => {
    answer = status;
    const leases = await deliver(url);
    expect(leases[method]).toHaveBeenCalledTimes(1);
    expect(leases[method].mock.calls[0]).toEqual(
      method === 'retryIn' ? [31, expect.any(Number), `HTTP ${status}`, [status]] : [31, `HTTP ${status}`, [status]],
    );
  });

  it('refuses a private target for good unless private targets are allowed, calling nothing', async () => {
    received.length = 0;
    const leases = await deliver(url, false);
    expect(leases.markFailed).toHaveBeenCalledWith(31, 'private address', [null]);
    expect(received).toEqual([]);
  });
});
