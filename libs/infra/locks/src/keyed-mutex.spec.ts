import { KeyedMutex } from './keyed-mutex';

describe('KeyedMutex', () => {
  it('runs work on one key one at a time, in arrival order, and other keys in parallel', async () => {
    const mutex = new KeyedMutex(100);
    const log: string[] = [];
    const run = async (key: string, label: string, ms: number) => {
      const release = await mutex.acquire(key);
      log.push(`start ${label}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${label}`);
      release?.();
    };
    await Promise.all([run('a', 'a1', 20), run('a', 'a2', 1), run('b', 'b1', 5)]);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(mutex.activeKeys).toBe(0);
  });

  it('refuses at once when a key has too many waiters', async () => {
    const mutex = new KeyedMutex(2);
    const first = await mutex.acquire('k');
    const second = mutex.acquire('k');
    expect(await mutex.acquire('k')).toBeUndefined();
    first?.();
    (await second)?.();
    expect(mutex.activeKeys).toBe(0);
  });
});
