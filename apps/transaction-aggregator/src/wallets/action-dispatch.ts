import type { TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import type { AggregatorService } from './aggregator.service';

/**
 * The write actions Pub/Sub producers may publish, by method name, with their request message
 * (for proto3 JSON parsing) and the same use case the gRPC method runs.
 */
export const PUBSUB_ACTIONS = {
  OpenWallet: {
    requestType: 'OpenWalletRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) =>
      s.openWallet(t, r as transactionV1.OpenWalletRequest),
  },
  TopUp: {
    requestType: 'TopUpRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) => s.topUp(t, r as transactionV1.TopUpRequest),
  },
  BookUsage: {
    requestType: 'BookUsageRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) =>
      s.bookUsage(t, r as transactionV1.BookUsageRequest),
  },
  Transfer: {
    requestType: 'TransferRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) => s.transfer(t, r as transactionV1.TransferRequest),
  },
  Reserve: {
    requestType: 'ReserveRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) => s.reserve(t, r as transactionV1.ReserveRequest),
  },
  Capture: {
    requestType: 'CaptureRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) => s.capture(t, r as transactionV1.CaptureRequest),
  },
  Void: {
    requestType: 'VoidRequest',
    run: (s: AggregatorService, t: TenantId, r: unknown) => s.void(t, r as transactionV1.VoidRequest),
  },
} as const;

export type PubSubAction = keyof typeof PUBSUB_ACTIONS;

export function isPubSubAction(value: string | undefined): value is PubSubAction {
  return value !== undefined && Object.hasOwn(PUBSUB_ACTIONS, value);
}
