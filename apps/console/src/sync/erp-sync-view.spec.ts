import { parseLimiterMetrics } from './erp-sync-view';

describe('parseLimiterMetrics', () => {
  it("reads erp-sync's limiter gauges per connector, whatever other labels they carry", () => {
    const text = [
      '# HELP saldo_erp_sync_limiter_in_flight Vendor requests in flight, by connector',
      'saldo_erp_sync_limiter_in_flight{connector="netsuite",service="erp-sync"} 3',
      'saldo_erp_sync_limiter_limit{service="erp-sync",connector="netsuite"} 5',
      'saldo_erp_sync_limiter_queued{connector="netsuite",service="erp-sync"} 12',
      'saldo_erp_sync_limiter_paused_seconds{connector="zendesk",service="erp-sync"} 1.5',
      'saldo_erp_sync_records{connector="netsuite",state="dead",service="erp-sync"} 2',
    ].join('\n');
    expect(parseLimiterMetrics(text)).toEqual({
      netsuite: { inFlight: 3, limit: 5, queued: 12, pausedSeconds: null },
      zendesk: { inFlight: null, limit: null, queued: null, pausedSeconds: 1.5 },
    });
  });
});
