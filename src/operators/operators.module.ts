import { createSecretKey } from 'node:crypto';
import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AdminSeeder } from './admin-seeder';
import { ApiTokensController } from './api-tokens.controller';
import { ApiTokensRepository } from './api-tokens.repository';
import { ApiTokensService } from './api-tokens.service';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { LoginAttempts } from './login-attempts';
import { OperatorsController } from './operators.controller';
import { OperatorsRepository } from './operators.repository';
import { OperatorsService } from './operators.service';

/** Operators, login, personal access tokens and the global auth guard's dependencies. */
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (!config.auth.jwtSecret)
          throw new Error('JWT_SECRET is not resolved (call resolveSecrets before starting the app)');
        return {
          // A KeyObject, made once: given the string, jsonwebtoken first tries to parse it as a PEM
          // public key on every verify (a throw and catch: 16% of the CPU of GET /requests).
          secret: createSecretKey(Buffer.from(config.auth.jwtSecret)),
          signOptions: { expiresIn: config.auth.jwtTtlSeconds, algorithm: 'HS256' },
        };
      },
    }),
  ],
  controllers: [AuthController, ApiTokensController, OperatorsController],
  providers: [
    OperatorsRepository,
    OperatorsService,
    AuthService,
    AuthGuard,
    AdminSeeder,
    LoginAttempts,
    ApiTokensRepository,
    ApiTokensService,
  ],
  exports: [OperatorsService, AuthService, AuthGuard, ApiTokensService],
})
export class OperatorsModule {}
