export interface HealthCheckResult {
  ok: boolean;
  /** What an operator reads: a state, an error, a figure. */
  detail: string;
}

export interface HealthCheck {
  name: string;
  /**
   * A failing critical check makes the service not ready (HTTP 503). A non-critical one is reported
   * (degraded) but keeps the service in rotation: e.g. the ledger still takes postings while
   * Pub/Sub is down, and its outbox keeps the events until Pub/Sub is back.
   */
  critical: boolean;
  check(): Promise<HealthCheckResult>;
}

export interface ReadinessReport {
  status: 'ready' | 'degraded' | 'not_ready';
  checks: Record<string, HealthCheckResult & { critical: boolean }>;
}

/** Runs every check at once, each bounded by `timeoutMs` (a check that hangs fails). */
export async function evaluateReadiness(
  checks: readonly HealthCheck[],
  timeoutMs: number,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (check) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<HealthCheckResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
          timeoutMs,
        );
      });
      try {
        const result = await Promise.race([
          check.check().catch((error: unknown) => ({
            ok: false,
            detail: error instanceof Error ? error.message : String(error),
          })),
          timeout,
        ]);
        return [check.name, { ...result, critical: check.critical }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const failedCritical = results.some(([, result]) => result.critical && !result.ok);
  const failedAny = results.some(([, result]) => !result.ok);
  return {
    status: failedCritical ? 'not_ready' : failedAny ? 'degraded' : 'ready',
    checks: Object.fromEntries(results),
  };
}
