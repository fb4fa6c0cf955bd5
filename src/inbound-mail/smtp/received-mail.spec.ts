import { PassThrough } from 'node:stream';
import { ByteBudget } from '../../common/byte-budget';
import { INITIAL_RESERVATION, receiveMail } from './received-mail';

const tick = () => new Promise((r) => setImmediate(r));

describe('receiveMail', () => {
  it('holds what the sender declared, and gives it back on release', async () => {
    const budget = new ByteBudget(1000);
    const s = new PassThrough();
    s.end(Buffer.from('hello'));
    const received = await receiveMail(s, budget, 500, 300);
    expect(received.kind).toBe('mail');
    if (received.kind !== 'mail') return;
    expect(received.raw.toString()).toBe('hello');
    expect(budget.held).toBe(300);
    received.reservation.release();
    received.reservation.release();
    expect(budget.held).toBe(0);
  });

  it('grows the reservation (doubling, never past the limit) as an undeclared mail comes in', async () => {
    const budget = new ByteBudget(10 * INITIAL_RESERVATION);
    const s = new PassThrough();
    const reading = receiveMail(s, budget, 3 * INITIAL_RESERVATION);
    await tick();
    expect(budget.held).toBe(INITIAL_RESERVATION);
    s.write(Buffer.alloc(INITIAL_RESERVATION + 1));
    await tick();
    expect(budget.held).toBe(2 * INITIAL_RESERVATION);
    s.end(Buffer.alloc(INITIAL_RESERVATION));
    const received = await reading;
    expect(received.kind).toBe('mail');
    expect(budget.held).toBe(3 * INITIAL_RESERVATION);
    if (received.kind === 'mail') received.reservation.release();
    expect(budget.held).toBe(0);
  });

  it('stops reading while the budget is taken: the sender waits, nothing is refused', async () => {
    const budget = new ByteBudget(100);
    await budget.acquire(100);
    const s = new PassThrough();
    s.end(Buffer.from('hi'));
    let done = false;
    const reading = receiveMail(s, budget, 1000, 50).then((r) => ((done = true), r));
    await tick();
    expect(done).toBe(false);
    budget.release(100);
    const received = await reading;
    expect(received.kind).toBe('mail');
  });

  it('drops the bytes past the limit and says too-large, holding nothing', async () => {
    const budget = new ByteBudget(1000);
    const s = new PassThrough();
    s.write(Buffer.alloc(80));
    s.end(Buffer.alloc(80));
    await expect(receiveMail(s, budget, 100)).resolves.toEqual({ kind: 'too-large' });
    expect(budget.held).toBe(0);
  });

  it('says aborted when the connection goes away mid-mail, holding nothing', async () => {
    const budget = new ByteBudget(1000);
    const s = new PassThrough();
    s.write(Buffer.from('half'));
    const reading = receiveMail(s, budget, 100);
    await tick();
    s.destroy(new Error('Connection closed before the message was received in full'));
    const received = await reading;
    expect(received.kind).toBe('aborted');
    expect(budget.held).toBe(0);
  });
});
