import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { bearerTokenOf, safeEqual } from '@saldo/grpc-kit';
import { LedgerError } from '@saldo/ledger-domain';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';

/**
 * The ledger is internal, but still authenticates every call: only holders of the service token
 * (the aggregator, operator tools) may move money.
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  constructor(@Inject(LEDGER_CONFIG) private readonly config: LedgerConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const token = bearerTokenOf(context.switchToRpc().getContext<Metadata>());
    if (!token || !safeEqual(token, this.config.LEDGER_SERVICE_TOKEN)) {
      throw new LedgerError(
        'UNAUTHENTICATED',
        'a valid service token is required (authorization: Bearer <token>)',
      );
    }
    return true;
  }
}
