import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** The window over which failed logins are counted. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000;
/** The first delay of an account failing from many addresses; it doubles with each further failure. */
export const FIRST_ACCOUNT_DELAY_MS = 250;
/** The longest an attempt on such an account waits before its password is checked. */
export const MAX_ACCOUNT_DELAY_MS = 8_000;
/** Accounts and (account, address) pairs tracked at most (the oldest are forgotten first), so random emails cannot fill memory. */
const MAX_TRACKED = 100_000;

interface Entry {
  count: number;
  resetAt: number;
}

/**
 * Failed logins, in memory, counted over 15 minutes from an entry's first failure, such that an
 * attacker cannot lock the owner of an account out (a known admin address, say):
 *
 * - per account AND client address (the lower-cased email and `req.ip`, which honours
 *   TRUST_PROXY): after LOGIN_ACCOUNT_RATE_LIMIT failures every further attempt *from that address
 *   on that account*, right password or not, gets 429 until the window ends. Other addresses, the
 *   owner's among them, are not affected. A successful login clears its pair.
 * - per account across all addresses: no lock, but once the account has LOGIN_ACCOUNT_RATE_LIMIT
 *   failures in the window, each attempt on it waits before its password is checked: 250 ms,
 *   doubling with each further failure, at most 8 s. Guessing from many addresses is slowed down;
 *   the owner still gets in, a few seconds later at worst.
 *
 * Refused attempts (429) count no further failure. LOGIN_RATE_LIMIT (attempts per address per
 * minute, whatever the account) applies besides. LOGIN_ACCOUNT_RATE_LIMIT=0 turns both off.
 */
@Injectable()
export class LoginAttempts {
  private readonly failures = new Map<string, Entry>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Seconds until this address may try this account again, or 0 when it may try now. */
  blockedFor(email: string, ip: string, now = Date.now()): number {
    const limit = this.config.rateLimit.loginFailuresPerAccount;
    const entry = limit ? this.current(pairKey(email, ip), now) : undefined;
    return entry && entry.count >= limit ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  /** How long (ms) an attempt on this account waits before its password is checked; 0 for most. */
  delayFor(email: string, now = Date.now()): number {
    const limit = this.config.rateLimit.loginFailuresPerAccount;
    const entry = limit ? this.current(accountKey(email), now) : undefined;
    if (!entry || entry.count < limit) return 0;
    return Math.min(MAX_ACCOUNT_DELAY_MS, FIRST_ACCOUNT_DELAY_MS * 2 ** Math.min(entry.count - limit, 20));
  }

  /** Counts one failed attempt of this address on this account. */
  recordFailure(email: string, ip: string, now = Date.now()): void {
    if (!this.config.rateLimit.loginFailuresPerAccount) return;
    this.count(accountKey(email), now);
    this.count(pairKey(email, ip), now);
  }

  /** Forgets the failures of this address on this account (after a successful login). */
  reset(email: string, ip: string): void {
    this.failures.delete(pairKey(email, ip));
  }

  private current(k: string, now: number): Entry | undefined {
    const entry = this.failures.get(k);
    if (entry && entry.resetAt <= now) {
      this.failures.delete(k);
      return undefined;
    }
    return entry;
  }

  private count(k: string, now: number): void {
    const entry = this.current(k, now);
    if (entry) {
      entry.count++;
      return;
    }
    if (this.failures.size >= MAX_TRACKED) this.prune(now);
    this.failures.set(k, { count: 1, resetAt: now + LOGIN_FAILURE_WINDOW_MS });
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

function accountKey(email: string): string {
  return email.trim().toLowerCase();
}

function pairKey(email: string, ip: string): string {
  return `${accountKey(email)}\n${ip}`;
}
