import { ByteBudget } from './byte-budget';

const settled = async <T>(p: Promise<T>) => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('ByteBudget', () => {
  it('lets holders in while their bytes fit, the next one once enough is released', async () => {
    const budget = new ByteBudget(30);
    await budget.acquire(20);
    const second = budget.acquire(20);
    await expect(settled(second)).resolves.toBe(false);
    budget.release(20);
    await expect(settled(second)).resolves.toBe(true);
    expect(budget.held).toBe(20);
  });

  it('always lets one holder in, however large, when nobody holds any', async () => {
    const budget = new ByteBudget(10);
    await expect(settled(budget.acquire(1000))).resolves.toBe(true);
    const small = budget.acquire(1);
    await expect(settled(small)).resolves.toBe(false);
    budget.release(1000);
    await expect(settled(small)).resolves.toBe(true);
  });

  it('serves waiters in arrival order: a small one does not overtake a large one', async () => {
    const budget = new ByteBudget(30);
    await budget.acquire(25);
    const order: string[] = [];
    const large = budget.acquire(30).then(() => order.push('large'));
    const small = budget.acquire(1).then(() => order.push('small'));
    await expect(settled(small)).resolves.toBe(false);
    budget.release(25);
    await large;
    await expect(settled(small)).resolves.toBe(false);
    budget.release(30);
    await small;
    expect(order).toEqual(['large', 'small']);
  });

  it('is a counting semaphore with holders of one unit each (ParsePool: a mail per thread)', async () => {
    const slots = new ByteBudget(2);
    await slots.acquire(1);
    await slots.acquire(1);
    const third = slots.acquire(1);
    await expect(settled(third)).resolves.toBe(false);
    slots.release(1);
    await expect(settled(third)).resolves.toBe(true);
    expect(slots.held).toBe(2);
  });
});
