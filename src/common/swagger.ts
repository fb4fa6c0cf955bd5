import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { setupRedoc } from './redoc';

export function buildOpenApi(app: INestApplication, serverUrl: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('MailDesk')
    .setDescription(
      'Email-driven service desk. Log in with POST /auth/login, then press **Authorize** and paste the `accessToken`, ' +
        'or a personal access token (`mdt_...`, made with POST /auth/tokens) for scripts and tools. ' +
        'The inbound webhook takes the INBOUND_TOKEN instead (bearer or `?token=`).',
    )
    .setVersion('0.1.0')
    .addServer(serverUrl)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description:
          "accessToken from POST /auth/login (a JWT), or a personal access token `mdt_...` from POST /auth/tokens " +
          "(scope 'read': GET and HEAD only; revoked with DELETE /auth/tokens/:id)",
      },
      'operator',
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'INBOUND_TOKEN' }, 'inbound')
    .addSecurityRequirements('operator')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json, ReDoc at /redoc. */
export function setupSwagger(app: INestApplication, serverUrl: string): void {
  const document = buildOpenApi(app, serverUrl);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  setupRedoc(app);
}
