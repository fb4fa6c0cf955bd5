import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** The window over which failed logins of one account are counted. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;
/** Accounts tracked at most (the oldest are forgotten first), so random emails cannot fill memory. */
const MAX_TRACKED = 50_000;

/**
 * Failed logins per account (the lower-cased email), in memory: after LOGIN_ACCOUNT_RATE_LIMIT
 * failures within 15 minutes every further attempt, right password or not, is refused until the
 * window of the first failure ends. A successful login clears the count.
 */
@Injectable()
export class LoginAttempts {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Seconds until this account may try again, or 0 when it may try now. */
  blockedFor(email: string, now = Date.now()): number {
    const limit = this.config.rateLimit.loginFailuresPerAccount;
    const entry = this.failures.get(key(email));
    if (!limit || !entry) return 0;
    if (entry.resetAt <= now) {
      this.failures.delete(key(email));
      return 0;
    }
    return entry.count >= limit ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  /** Counts one failed attempt. */
  recordFailure(email: string, now = Date.now()): void {
    if (!this.config.rateLimit.loginFailuresPerAccount) return;
    const k = key(email);
    const entry = this.failures.get(k);
    if (entry && entry.resetAt > now) {
      entry.count++;
      return;
    }
    this.failures.delete(k);
    if (this.failures.size >= MAX_TRACKED) this.prune(now);
    this.failures.set(k, { count: 1, resetAt: now + LOGIN_FAILURE_WINDOW_MS });
  }

  /** Forgets the failures of an account (after a successful login). */
  reset(email: string): void {
    this.failures.delete(key(email));
  }

  private prune(now: number): void {
    for (const [k, v] of this.failures) if (v.resetAt <= now) this.failures.delete(k);
    // Still full: forget the oldest entries (Map keeps insertion order).
    for (const k of this.failures.keys()) {
      if (this.failures.size < MAX_TRACKED) break;
      this.failures.delete(k);
    }
  }
}

function key(email: string): string {
  return email.trim().toLowerCase();
}
