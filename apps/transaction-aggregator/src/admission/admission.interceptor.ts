import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { bearerTokenOf } from '@saldo/grpc-kit';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { deadlineMsOf, type Admission } from './admission';

/**
 * Admission for every gRPC call of the TransactionService, before the handler (and its API key
 * lookup) runs: the process and per-key bounds, and the call's deadline (Admission).
 */
export class AdmissionInterceptor implements NestInterceptor {
  constructor(private readonly admission: Admission) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const metadata = context.switchToRpc().getContext<Metadata | undefined>();
    const call = context.getArgByIndex(2) as { getDeadline?: () => unknown; write?: unknown } | undefined;
    // Unary calls only: a stream is not one bounded piece of work.
    if (typeof call?.write === 'function') return next.handle();
    const deadlineMs = deadlineMsOf(call?.getDeadline?.());
    return from(
      this.admission.enter(bearerTokenOf(metadata), deadlineMs, () => lastValueFrom(next.handle())),
    );
  }
}
