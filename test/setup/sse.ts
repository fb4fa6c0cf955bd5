import * as http from 'node:http';

/** One Server-Sent Event as a client parses it. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** An open text/event-stream read with node's plain http client (no EventSource, no mocks). */
export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The events received so far, in order. */
  events: SseEvent[];
  /** Comment lines received (`: heartbeat`). */
  comments: string[];
  /** The `retry:` hint received, if any. */
  retry: number | undefined;
  /** The body, for an answer that is not a stream (an error). */
  body(): string;
  /** Resolves when the server ended the stream (or the connection was cut). */
  ended: Promise<void>;
  /** Resolves when `pred` holds for the events received (rejects after `timeoutMs`, a hang guard). */
  until(pred: (events: SseEvent[]) => boolean, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

/** Opens `path` on 127.0.0.1:`port` and parses the stream as EventSource would. */
export function openSse(port: number, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      let buffer = '';
      let raw = '';
      const waiters = new Set<() => void>();
      let endResolve!: () => void;
      const ended = new Promise<void>((r) => (endResolve = r));
      let current: { id?: string; event?: string; data: string[] } = { data: [] };
      let lastId: string | undefined;
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        retry: undefined,
        body: () => raw,
        ended,
        until(pred, timeoutMs = 30_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (!pred(client.events)) return false;
              clearTimeout(timer);
              waiters.delete(check);
              ok(client.events);
              return true;
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`events not received: got ${JSON.stringify(client.events.map((e) => [e.id, e.event]))}`));
            }, timeoutMs);
            if (!check()) waiters.add(check);
          });
        },
        close() {
          req.destroy();
        },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
          if (line === '') {
            if (current.data.length) {
              if (current.id !== undefined) lastId = current.id;
              client.events.push({ id: lastId, event: current.event ?? 'message', data: current.data.join('\n') });
            }
            current = { data: [] };
            continue;
          }
          if (line.startsWith(':')) {
            client.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') current.id = value;
          else if (field === 'event') current.event = value;
          else if (field === 'data') current.data.push(value);
          else if (field === 'retry') client.retry = Number(value);
        }
        for (const w of [...waiters]) w();
      });
      const end = () => endResolve();
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      resolve(client);
    });
    req.end();
  });
}
