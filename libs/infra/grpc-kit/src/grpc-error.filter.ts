import { Catch, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { classifyFault } from '@saldo/faults';
import { isLedgerError } from '@saldo/ledger-domain';
import type { Logger } from 'pino';
import { throwError, type Observable } from 'rxjs';
import { toGrpcError } from './error-mapping';

/**
 * The only way errors leave a gRPC service: coded domain errors become their status; a dependency
 * failure nobody coded on its way (@saldo/faults) is logged as a warning and leaves as
 * UNAVAILABLE/ABORTED/RESOURCE_EXHAUSTED; anything else is logged with its stack and leaves as
 * INTERNAL (never UNKNOWN, never raw text).
 */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter<unknown> {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (!isLedgerError(exception) || exception.code === 'INTERNAL') {
      const handler = host.getType() === 'rpc' ? host.switchToRpc().getContext()?.getPath?.() : undefined;
      const fault = isLedgerError(exception) ? undefined : classifyFault(exception);
      if (fault)
        this.logger.warn(
          { fault: fault.reason, kind: fault.kind, cause: fault.cause, handler },
          'a dependency failed while handling a gRPC call; answered as retryable',
        );
      else this.logger.error({ err: exception, handler }, 'unexpected error while handling a gRPC call');
    }
    const payload = toGrpcError(exception);
    return throwError(() => payload);
  }
}
