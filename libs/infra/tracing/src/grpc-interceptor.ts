import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { context as otelContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { rememberTraceContext } from './messaging';
import { extractContext } from './propagation';
import { REQUEST_ID_KEY, withRequestId } from './request-id';

interface MetadataLike {
  get(key: string): Array<string | Buffer>;
}

/**
 * A NestJS interceptor for gRPC servers: continues the caller's trace (`traceparent` in the call
 * metadata) with a SERVER span named after the method, active while the handler runs, and runs the
 * handler under the caller's `x-request-id` (or a new one) for the logs. Register it before the
 * other interceptors so their work is inside the span.
 */
export class GrpcTracingInterceptor implements NestInterceptor {
  /**
   * @param statusOf the status name an error leaves with (as the service's exception filter maps it)
   * @param rememberAs the keys of a response (e.g. its transaction ids; a batch has several) to
   *   remember the call's trace context under, for work the call leaves behind (the ledger's relay)
   */
  constructor(
    private readonly statusOf: (error: unknown) => string,
    private readonly rememberAs?: (response: unknown) => string | readonly string[] | undefined,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const metadata = context.switchToRpc().getContext<MetadataLike | undefined>();
    const parent = extractContext((key) => {
      const value = typeof metadata?.get === 'function' ? metadata.get(key)[0] : undefined;
      return typeof value === 'string' ? value : undefined;
    });
    const method = methodOf(context);
    const span = trace.getTracer('@saldo/tracing').startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': method.split('/')[0] ?? method,
          'rpc.method': method.split('/')[1] ?? method,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    const incomingRequestId = metadata?.get?.(REQUEST_ID_KEY)[0];
    return new Observable((subscriber) => {
      const subscription = withRequestId(
        typeof incomingRequestId === 'string' ? incomingRequestId : undefined,
        () =>
          otelContext.with(active, () =>
            next.handle().subscribe({
              next: (value) => {
                const keys = this.rememberAs?.(value);
                for (const key of typeof keys === 'string' ? [keys] : (keys ?? []))
                  rememberTraceContext(key, span.spanContext());
                subscriber.next(value);
              },
              error: (error: unknown) => {
                const code = this.statusOf(error);
                span.setAttribute('rpc.grpc.status_code', code);
                span.setStatus({
                  code: SpanStatusCode.ERROR,
                  message: error instanceof Error ? error.message : code,
                });
                span.end();
                subscriber.error(error);
              },
              complete: () => {
                span.setAttribute('rpc.grpc.status_code', 'OK');
                span.end();
                subscriber.complete();
              },
            }),
          ),
      );
      return () => {
        subscription.unsubscribe();
        if (span.isRecording()) span.end();
      };
    });
  }
}

function methodOf(context: ExecutionContext): string {
  const call = context.getArgByIndex(2) as { getPath?: () => string } | undefined;
  const path = typeof call?.getPath === 'function' ? call.getPath() : undefined;
  if (path) return path.replace(/^\//, '');
  return `${context.getClass().name}/${context.getHandler().name}`;
}
