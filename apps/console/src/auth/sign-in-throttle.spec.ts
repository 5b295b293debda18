import { MAX_FAILURES, SignInThrottle, WINDOW_MS } from './sign-in-throttle';

describe('SignInThrottle', () => {
  it('refuses an address after too many failures until the window passes; a success clears it', () => {
    let now = 1_000_000;
    const throttle = new SignInThrottle(() => now);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed('a@example.com');
    expect(throttle.blockedForMs('a@example.com')).toBe(0);
    throttle.failed('a@example.com');
    expect(throttle.blockedForMs('a@example.com')).toBe(WINDOW_MS);
    expect(throttle.blockedForMs('b@example.com')).toBe(0);
    now += WINDOW_MS;
    expect(throttle.blockedForMs('a@example.com')).toBe(0);
    throttle.failed('a@example.com');
    throttle.succeeded('a@example.com');
    expect(throttle.blockedForMs('a@example.com')).toBe(0);
  });
});
