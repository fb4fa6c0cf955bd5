import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OperatorsRepository, type OperatorsStore } from './operators.repository';

/**
 * Creates the first admin when no operator exists: ADMIN_EMAIL / ADMIN_PASSWORD, or a generated
 * password printed once. Safe when several instances start at once (one insert wins).
 */
@Injectable()
export class AdminSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('Operators');

  constructor(
    @Inject(OperatorsRepository) private readonly operators: OperatorsStore,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'workers' | 'admin'>,
  ) {}

  /** Not in the CLI: there the operator it creates is the first one, and nobody would see a generated password. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.workers) await this.seed();
  }

  /** Returns true when it created the admin. */
  async seed(): Promise<boolean> {
    if ((await this.operators.count()) > 0) return false;
    const email = this.config.admin.email;
    const generated = this.config.admin.password === undefined;
    const password = this.config.admin.password ?? randomBytes(12).toString('base64url');
    const hash = await argon2.hash(password);
    if (!(await this.operators.insertFirstAdmin(email, hash))) return false;
    if (generated) this.logger.log(`created admin ${email} with password ${password} (shown once)`);
    else this.logger.log(`created admin ${email} with the password from ADMIN_PASSWORD`);
    return true;
  }
}
