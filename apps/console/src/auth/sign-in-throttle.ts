/**
 * Failed sign-ins per e-mail address in this process: after MAX_FAILURES within WINDOW_MS the
 * address is refused until the window passes (a success clears it). Bounded: at most MAX_TRACKED
 * addresses are remembered, the oldest forgotten first. Per instance; argon2's cost bounds the rate
 * across instances.
 */
export const MAX_FAILURES = 10;
export const WINDOW_MS = 15 * 60_000;
const MAX_TRACKED = 10_000;

export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds until this address may try again (0: it may now). */
  blockedForMs(email: string): number {
    const entry = this.failures.get(email);
    if (!entry) return 0;
    const left = entry.since + WINDOW_MS - this.now();
    if (left <= 0) {
      this.failures.delete(email);
      return 0;
    }
    return entry.count >= MAX_FAILURES ? left : 0;
  }

  failed(email: string): void {
    const entry = this.failures.get(email);
    if (entry && this.now() - entry.since < WINDOW_MS) entry.count += 1;
    else {
      this.failures.delete(email);
      if (this.failures.size >= MAX_TRACKED)
        this.failures.delete(this.failures.keys().next().value as string);
      this.failures.set(email, { count: 1, since: this.now() });
    }
  }

  succeeded(email: string): void {
    this.failures.delete(email);
  }
}
