import { INestApplication } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The page: ReDoc's standalone bundle, served by the app itself (no CDN), rendering /docs-json. */
const REDOC_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>MailDesk API reference</title>
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="/docs-json"></redoc>
  <script src="/redoc/redoc.standalone.js"></script>
</body>
</html>
`;

/** Where the installed `redoc` package keeps its standalone bundle. */
function bundlePath(): string {
  const file = 'redoc/bundles/redoc.standalone.js';
  return typeof require === 'function' ? require.resolve(file) : path.resolve('node_modules', file);
}

/** ReDoc at /redoc (beside Swagger UI at /docs), public like the docs, over the same OpenAPI document. */
export function setupRedoc(app: INestApplication): void {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const file = bundlePath();
  let bundle: Buffer | undefined;
  fastify.get('/redoc', (_request, reply) => {
    void reply.type('text/html; charset=utf-8').send(REDOC_HTML);
  });
  fastify.get('/redoc/redoc.standalone.js', (_request, reply) => {
    void reply
      .type('application/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=86400')
      .send((bundle ??= fs.readFileSync(file)));
  });
}
