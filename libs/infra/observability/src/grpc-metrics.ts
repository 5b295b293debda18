import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { tap, type Observable } from 'rxjs';

/** Seconds; from a sub-millisecond replay to a call that waited on a lock for most of its deadline. */
const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Per-method gRPC server metrics, shared by every service:
 * - `saldo_grpc_server_requests_total{method, code}`: finished calls by status name (OK included);
 * - `saldo_grpc_server_errors_total{method, code}`: the same, non-OK only (alert on its rate);
 * - `saldo_grpc_server_request_duration_seconds{method}`: handler latency histogram;
 * - `saldo_grpc_server_in_flight_requests{method}`: calls being handled now.
 */
export class GrpcServerMetrics {
  readonly requests: Counter<'method' | 'code'>;
  readonly errors: Counter<'method' | 'code'>;
  readonly duration: Histogram<'method'>;
  readonly inFlight: Gauge<'method'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'saldo_grpc_server_requests_total',
      help: 'gRPC calls handled, by method and status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'saldo_grpc_server_errors_total',
      help: 'gRPC calls answered with a status other than OK, by method and status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'saldo_grpc_server_request_duration_seconds',
      help: 'Time to handle one gRPC call, by method',
      labelNames: ['method'],
      buckets: DURATION_BUCKETS_S,
      registers: [registry],
    });
    this.inFlight = new Gauge({
      name: 'saldo_grpc_server_in_flight_requests',
      help: 'gRPC calls being handled now, by method',
      labelNames: ['method'],
      registers: [registry],
    });
  }

  /** Call when a call starts; call the returned function once with its status name when it ends. */
  start(method: string): (code: string) => void {
    const started = process.hrtime.bigint();
    this.inFlight.inc({ method });
    let done = false;
    return (code) => {
      if (done) return; // an Observable may error after emitting; count a call once
      done = true;
      this.inFlight.dec({ method });
      this.requests.inc({ method, code });
      if (code !== 'OK') this.errors.inc({ method, code });
      this.duration.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
    };
  }
}

/**
 * A NestJS interceptor that records GrpcServerMetrics for every gRPC handler. `statusOf` names the
 * status an error leaves with (the service's exception filter decides it, so the service supplies
 * the same mapping: e.g. `(e) => status[toGrpcError(e).code]`).
 */
export class GrpcMetricsInterceptor implements NestInterceptor {
  constructor(
    private readonly metrics: GrpcServerMetrics,
    private readonly statusOf: (error: unknown) => string,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const end = this.metrics.start(methodOf(context));
    return next.handle().pipe(
      tap({
        complete: () => end('OK'),
        error: (error: unknown) => end(this.statusOf(error)),
        unsubscribe: () => end('CANCELLED'),
      }),
    );
  }
}

/** "/saldo.transaction.v1.TransactionService/TopUp" from the call, else Controller.handler. */
function methodOf(context: ExecutionContext): string {
  const call = context.getArgByIndex(2) as { getPath?: () => string } | undefined;
  const path = typeof call?.getPath === 'function' ? call.getPath() : undefined;
  if (path) return path.replace(/^\//, '');
  return `${context.getClass().name}.${context.getHandler().name}`;
}
