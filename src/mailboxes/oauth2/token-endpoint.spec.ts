import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { callTokenEndpoint, refreshAccessToken } from './token-endpoint';

/** A local HTTP server answering each POST with the next canned answer; records the forms it got. */
async function cannedServer(answers: Array<{ status: number; body: string; delayMs?: number }>) {
  const forms: URLSearchParams[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      forms.push(new URLSearchParams(body));
      const a = answers.shift() ?? { status: 500, body: '' };
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body);
      }, a.delayMs ?? 0);
      timers.add(timer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    url,
    forms,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const OPTS = { timeoutMs: 2000, now: () => 1_000_000 };
const CLIENT = { clientId: 'maildesk', clientSecret: 'client-secret-1' };

describe('the token endpoint call', () => {
  it('posts the refresh grant with the client in the body and reads tokens and expiry', async () => {
    const s = await cannedServer([
      {
        status: 200,
        body: JSON.stringify({ access_token: 'at-1', refresh_token: 'rt-2', expires_in: 600, token_type: 'Bearer' }),
      },
    ]);
    try {
      const r = await refreshAccessToken(s.url, { refreshToken: 'rt-1', ...CLIENT }, OPTS);
      expect(r).toEqual({
        ok: true,
        tokens: { accessToken: 'at-1', refreshToken: 'rt-2', expiresAt: new Date(1_000_000 + 600_000) },
      });
      expect(Object.fromEntries(s.forms[0])).toEqual({
        grant_type: 'refresh_token',
        refresh_token: 'rt-1',
        client_id: 'maildesk',
        client_secret: 'client-secret-1',
      });
    } finally {
      await s.close();
    }
  });

  it('tells refusals for good from transient failures, quoting no secret', async () => {
    const s = await cannedServer([
      { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }) },
      { status: 401, body: JSON.stringify({ error: 'invalid_client' }) },
      { status: 503, body: 'down' },
      { status: 429, body: JSON.stringify({ error: 'invalid_grant' }) },
      { status: 400, body: JSON.stringify({ error: 'temporarily_unavailable' }) },
      { status: 200, body: JSON.stringify({ token_type: 'Bearer' }) },
    ]);
    try {
      const call = () => callTokenEndpoint(s.url, { grant_type: 'refresh_token', refresh_token: 'rt-secret' }, OPTS);
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await call());
      expect(results.map((r) => (r.ok ? 'ok' : `${r.error}:${r.permanent}`))).toEqual([
        'invalid_grant:true',
        'invalid_client:true',
        'http_503:false',
        'invalid_grant:false',
        'temporarily_unavailable:false',
        'bad_response:false',
      ]);
      for (const r of results) expect(JSON.stringify(r)).not.toContain('rt-secret');
      expect(results[0]).toMatchObject({
        message: 'the token endpoint answered 400 invalid_grant: grant request is invalid',
      });
    } finally {
      await s.close();
    }
  });

  it('reports an unreachable endpoint and a timeout as transient', async () => {
    const s = await cannedServer([{ status: 200, body: '{}', delayMs: 1500 }]);
    try {
      const slow = await callTokenEndpoint(s.url, {}, { timeoutMs: 200 });
      expect(slow).toMatchObject({ ok: false, permanent: false, error: 'timeout' });
    } finally {
      await s.close();
    }
    const gone = await callTokenEndpoint(s.url, {}, { timeoutMs: 2000 });
    expect(gone).toMatchObject({ ok: false, permanent: false, error: 'network' });
  });
});
