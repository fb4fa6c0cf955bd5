import type { AppConfig } from '../config/config';
import { LOGIN_FAILURE_WINDOW_MS, LoginAttempts, MAX_ACCOUNT_DELAY_MS } from './login-attempts';

const attempts = (limit = 3) =>
  new LoginAttempts({ rateLimit: { loginFailuresPerAccount: limit } } as unknown as AppConfig);

describe('LoginAttempts', () => {
  const t0 = 1_000_000;

  it('locks the address that failed LOGIN_ACCOUNT_RATE_LIMIT times for that account, not other addresses', () => {
    const a = attempts(3);
    for (let i = 0; i < 3; i++) {
      expect(a.blockedFor('Admin@desk.test', '203.0.113.66', t0)).toBe(0);
      a.recordFailure('Admin@desk.test', '203.0.113.66', t0);
    }
    expect(a.blockedFor('admin@desk.test', '203.0.113.66', t0)).toBe(LOGIN_FAILURE_WINDOW_MS / 1000);
    expect(a.blockedFor('admin@desk.test', '198.51.100.7', t0)).toBe(0);
    expect(a.blockedFor('other@desk.test', '203.0.113.66', t0)).toBe(0);
    expect(a.blockedFor('admin@desk.test', '203.0.113.66', t0 + LOGIN_FAILURE_WINDOW_MS)).toBe(0);
  });

  it('slows every attempt on an account failing from many addresses, growing to a cap, never refusing it', () => {
    const a = attempts(3);
    let ip = 0;
    const fail = () => a.recordFailure('admin@desk.test', `203.0.113.${ip++ % 250}`, t0);
    for (let i = 0; i < 2; i++) fail();
    expect(a.delayFor('admin@desk.test', t0)).toBe(0);
    fail();
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      delays.push(a.delayFor('admin@desk.test', t0));
      fail();
    }
    expect(delays[0]).toBeGreaterThan(0);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    expect(delays.at(-1)).toBe(MAX_ACCOUNT_DELAY_MS);
    // No address that has not failed itself is refused.
    expect(a.blockedFor('admin@desk.test', '198.51.100.7', t0)).toBe(0);
    expect(a.delayFor('admin@desk.test', t0 + LOGIN_FAILURE_WINDOW_MS)).toBe(0);
    expect(a.delayFor('other@desk.test', t0)).toBe(0);
  });

  it('a successful login clears its address; 0 turns it all off', () => {
    const a = attempts(2);
    a.recordFailure('admin@desk.test', '203.0.113.66', t0);
    a.recordFailure('admin@desk.test', '203.0.113.66', t0);
    a.reset('admin@desk.test', '203.0.113.66');
    expect(a.blockedFor('admin@desk.test', '203.0.113.66', t0)).toBe(0);
    const off = attempts(0);
    for (let i = 0; i < 50; i++) off.recordFailure('admin@desk.test', '203.0.113.66', t0);
    expect(off.blockedFor('admin@desk.test', '203.0.113.66', t0)).toBe(0);
    expect(off.delayFor('admin@desk.test', t0)).toBe(0);
  });
});
