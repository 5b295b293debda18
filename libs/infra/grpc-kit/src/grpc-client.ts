import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { currentRequestId, injectContext, REQUEST_ID_KEY, SpanKind, withSpan } from '@saldo/tracing';
import type { Observable } from 'rxjs';
import { PROTO_LOADER_OPTIONS } from './server-options';

/** A unary method as a promise: request in, response out; gRPC errors reject as grpc.ServiceError. */
export type UnaryCall<Req, Res> = (
  request: Req,
  options?: { deadlineMs?: number; metadata?: grpc.Metadata },
) => Promise<Res>;

/**
 * The promise shape of a ts-proto NestJS client interface (whose methods return Observables):
 * `PromiseClientOf<ledgerV1.LedgerServiceClient>`.
 */
export type PromiseClientOf<T> = {
  [K in keyof T]: T[K] extends (request: infer Req, ...rest: never[]) => Observable<infer Res>
    ? UnaryCall<Req, Res>
    : never;
};

export interface GrpcClientHandle<C> {
  client: C;
  channel: grpc.Client;
  close(): void;
}

/**
 * A promise-based client for one service of a .proto, loaded with the same options as the servers
 * (int64 as strings, enums as names). Every call carries `authorization: Bearer <token>` when a
 * token is given, and a deadline (default 10 s) so no call waits forever.
 */
export function createGrpcClient<C>(params: {
  protoPath: string;
  includeDirs: readonly string[];
  serviceName: string; // fully qualified, e.g. saldo.ledger.v1.LedgerService
  address: string;
  token?: string;
  defaultDeadlineMs?: number;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}): GrpcClientHandle<C> {
  const definition = protoLoader.loadSync(params.protoPath, {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [...params.includeDirs],
  });
  const loaded = grpc.loadPackageDefinition(definition);
  const ServiceClient = params.serviceName
    .split('.')
    .reduce<unknown>(
      (node, part) => (node as Record<string, unknown>)[part],
      loaded,
    ) as grpc.ServiceClientConstructor;
  if (typeof ServiceClient !== 'function')
    throw new Error(`service ${params.serviceName} is not in ${params.protoPath}`);
  const channel = new ServiceClient(params.address, params.credentials ?? grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    ...params.channelOptions,
  });
  const client: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(ServiceClient.service)) {
    if (method.requestStream || method.responseStream) continue;
    type RawUnary = (
      request: unknown,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response: unknown) => void,
    ) => void;
    const raw = (channel as unknown as Record<string, RawUnary | undefined>)[name];
    if (!raw) continue;
    const call = raw.bind(channel);
    const lowerName = name.charAt(0).toLowerCase() + name.slice(1);
    const spanOptions = {
      kind: SpanKind.CLIENT,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': params.serviceName, 'rpc.method': name },
    };
    // A CLIENT span per call; its W3C traceparent travels in the metadata to the server.
    client[lowerName] = (request: unknown, options: { deadlineMs?: number; metadata?: grpc.Metadata } = {}) =>
      withSpan(
        `${params.serviceName}/${name}`,
        spanOptions,
        (span) =>
          new Promise((resolve, reject) => {
            const metadata = options.metadata?.clone() ?? new grpc.Metadata();
            if (params.token && !metadata.get('authorization').length)
              metadata.set('authorization', `Bearer ${params.token}`);
            for (const [key, value] of Object.entries(injectContext())) metadata.set(key, value);
            const requestId = currentRequestId();
            if (requestId && !metadata.get(REQUEST_ID_KEY).length) metadata.set(REQUEST_ID_KEY, requestId);
            const deadline = Date.now() + (options.deadlineMs ?? params.defaultDeadlineMs ?? 10_000);
            call(request, metadata, { deadline }, (error: grpc.ServiceError | null, response: unknown) => {
              if (error) span.setAttribute('rpc.grpc.status_code', error.code);
              return error ? reject(error) : resolve(response);
            });
          }),
      );
  }
  return { client: client as C, channel, close: () => channel.close() };
}
