import { Catch, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { isLedgerError } from '@saldo/ledger-domain';
import type { Logger } from 'pino';
import { throwError, type Observable } from 'rxjs';
import { toGrpcError } from './error-mapping';

/**
 * The only way errors leave a gRPC service: coded domain errors become their status; anything
 * else is logged with its stack and leaves as INTERNAL (never UNKNOWN, never raw text).
 */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter<unknown> {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (!isLedgerError(exception) || exception.code === 'INTERNAL') {
      const handler = host.getType() === 'rpc' ? host.switchToRpc().getContext()?.getPath?.() : undefined;
      this.logger.error({ err: exception, handler }, 'unexpected error while handling a gRPC call');
    }
    const payload = toGrpcError(exception);
    return throwError(() => payload);
  }
}
