// The HTTP door of a gRPC service: the Connect protocol (@connectrpc/connect-node) serves Connect
// JSON and binary over HTTP/1.1 and HTTP/2, gRPC-Web and gRPC from one router on one port, and
// hands every call to the SAME handler objects the NestJS gRPC server uses (the controllers), so
// authentication, validation and errors cannot drift between the doors.
//
// Requests arrive as protobuf-es messages and are re-read by the proto-loader codec the gRPC
// server uses (bytes in between), so a handler sees exactly what it sees on gRPC (lowerCamelCase
// fields, enums by name, int64 as strings); answers travel back the same way.
import { fromBinary, toBinary, type DescFile, type DescService, type JsonValue } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Metadata, status } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import { isLedgerError } from '@saldo/ledger-domain';
import type { Logger } from '@saldo/logging';
import { extractContext, REQUEST_ID_KEY, withRequestId, withSpan } from '@saldo/tracing';
import { SpanKind } from '@opentelemetry/api';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { toGrpcError } from './error-mapping';
import { serveHealth, serveReflection, type HealthStatusOf } from './connect-meta-services';
import { PROTO_LOADER_OPTIONS } from './server-options';
import { decodeStatusDetails, statusDetailAnys } from './status-details';

/** What a handler of the gRPC server looks like: (request, metadata) → answer. */
type UnaryHandler = (request: unknown, metadata: Metadata) => Promise<unknown>;

/** Per-method server metrics (the gRPC server's own: the same series for both doors). */
export interface CallMetrics {
  start(method: string): (code: string) => void;
}

export interface ConnectDoorOptions {
  host: string;
  /** 0 picks a free port (tests); the bound port is returned. */
  port: number;
  service: DescService;
  /** The handler object of the gRPC server (its methods by lowerCamelCase name). */
  handlers: object;
  /** The .proto the gRPC server loads: the codec the handlers are used to. */
  protoPath: string;
  includeDirs: readonly string[];
  /** What reflection describes (their imports come along). */
  describe: readonly DescFile[];
  healthStatusOf: HealthStatusOf;
  metrics?: CallMetrics;
  /** Origins a browser may call from (CORS); empty: none. */
  corsOrigins?: readonly string[];
  logger: Logger;
}

export interface ConnectDoor {
  port: number;
  close(): Promise<void>;
}

/** Headers a browser may send and read (the Connect, gRPC-Web and Saldo ones). */
const CORS_ALLOWED_HEADERS = [
  'content-type',
  'connect-protocol-version',
  'connect-timeout-ms',
  'x-grpc-web',
  'x-user-agent',
  'grpc-timeout',
  'authorization',
  'x-request-id',
  'traceparent',
  'tracestate',
];
const CORS_EXPOSED_HEADERS = [
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'saldo-error-code',
  'saldo-error-field',
];
/** Same as the gRPC server's default receive limit. */
const READ_MAX_BYTES = 4 * 1024 * 1024;
const CLOSE_GRACE_MS = 10_000;
const HTTP2_PREFACE = 'PRI * HTTP/2.0';

export async function startConnectDoor(options: ConnectDoorOptions): Promise<ConnectDoor> {
  const definition = loadSync(options.protoPath, {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [...options.includeDirs],
  })[options.service.typeName] as ServiceDefinition | undefined;
  if (!definition) throw new Error(`${options.protoPath} defines no ${options.service.typeName}`);

  const routes = (router: ConnectRouter) => {
    router.service(options.service, unaryImplementation(options, definition) as never);
    serveHealth(router, options.healthStatusOf);
    serveReflection(router, options.describe);
  };
  const handler = connectNodeAdapter({
    routes,
    interceptors: options.metrics ? [metricsInterceptor(options.metrics)] : [],
    readMaxBytes: READ_MAX_BYTES,
  });
  const withCors = corsHandler(options.corsOrigins ?? [], handler);

  // One port for HTTP/1.1 (curl, browsers, gRPC-Web) and cleartext HTTP/2 (gRPC, h2c Connect):
  // the first bytes tell which (HTTP/2's connection preface).
  const h1 = http.createServer(withCors);
  const h2 = http2.createServer({}, withCors);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const target = first.toString('latin1', 0, HTTP2_PREFACE.length) === HTTP2_PREFACE ? h2 : h1;
      target.emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, CLOSE_GRACE_MS);
        timer.unref();
        h1.closeIdleConnections();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        h1.close();
        h2.close();
      }),
  };
}

/** Every unary method of the service, running the gRPC handler under the caller's headers. */
function unaryImplementation(options: ConnectDoorOptions, definition: ServiceDefinition) {
  const implementation: Record<string, (request: never, context: never) => Promise<unknown>> = {};
  for (const method of options.service.methods) {
    if (method.methodKind !== 'unary') continue;
    const codec = definition[method.name];
    const name = codec?.originalName ?? `${method.name.charAt(0).toLowerCase()}${method.name.slice(1)}`;
    const fn = (options.handlers as Record<string, UnaryHandler | undefined>)[name];
    if (!codec || typeof fn !== 'function')
      throw new Error(`no gRPC handler ${name} for ${options.service.typeName}/${method.name}`);
    const path = `${options.service.typeName}/${method.name}`;
    implementation[method.localName] = async (
      request: never,
      context: { requestHeader: Headers },
    ): Promise<unknown> => {
      const headers = context.requestHeader;
      const input = codec.requestDeserialize(Buffer.from(toBinary(method.input, request)));
      const metadata = metadataOf(headers);
      const parent = extractContext((key) => headers.get(key) ?? undefined);
      return withRequestId(headers.get(REQUEST_ID_KEY) ?? undefined, () =>
        withSpan(
          path,
          {
            kind: SpanKind.SERVER,
            parent,
            attributes: {
              'rpc.system': 'connect_rpc',
              'rpc.service': options.service.typeName,
              'rpc.method': method.name,
            },
          },
          async () => {
            try {
              const answer = await fn.call(options.handlers, input, metadata);
              return fromBinary(method.output, codec.responseSerialize(answer as object));
            } catch (error) {
              throw toConnectError(error, options.logger, path);
            }
          },
        ),
      );
    };
  }
  return implementation;
}

/** The headers a gRPC handler reads from its metadata (authorization, request id, trace context). */
function metadataOf(headers: Headers): Metadata {
  const metadata = new Metadata();
  for (const key of ['authorization', REQUEST_ID_KEY, 'traceparent', 'tracestate']) {
    const value = headers.get(key);
    if (value !== null) metadata.set(key, value);
  }
  return metadata;
}

/**
 * A domain error as the Connect protocol carries it: the gRPC status's code (Connect codes are the
 * same numbers), the same message, the saldo-error-code/-field headers and the same
 * google.rpc.ErrorInfo / BadRequest details (with their JSON as `debug` for people using curl).
 */
export function toConnectError(error: unknown, logger: Logger, handler: string): ConnectError {
  if (!isLedgerError(error) || error.code === 'INTERNAL')
    logger.error({ err: error, handler }, 'unexpected error while handling a Connect call');
  const payload = toGrpcError(error);
  const headers = new Headers();
  for (const key of ['saldo-error-code', 'saldo-error-field']) {
    const value = payload.metadata.get(key)[0];
    if (typeof value === 'string') headers.set(key, value);
  }
  const bin = payload.metadata.get('grpc-status-details-bin')[0] as Buffer;
  const decoded = decodeStatusDetails(bin);
  const details = statusDetailAnys(bin).map((any) => ({
    ...any,
    debug: (any.type.endsWith('ErrorInfo')
      ? { reason: decoded.reason ?? '', domain: 'saldo', metadata: decoded.facts }
      : { fieldViolations: decoded.fieldViolations }) as JsonValue,
  }));
  const connectError = new ConnectError(payload.message, payload.code as number as Code, headers);
  connectError.details = details;
  return connectError;
}

function metricsInterceptor(metrics: CallMetrics): Interceptor {
  return (next) => async (request) => {
    const end = metrics.start(`${request.service.typeName}/${request.method.name}`);
    try {
      const response = await next(request);
      end('OK');
      return response;
    } catch (error) {
      end(status[ConnectError.from(error).code] ?? 'UNKNOWN');
      throw error;
    }
  };
}

type NodeHandler = ReturnType<typeof connectNodeAdapter>;

/** Answers CORS preflights for the allowed origins and marks their responses; others pass untouched. */
function corsHandler(origins: readonly string[], next: NodeHandler): NodeHandler {
  if (origins.length === 0) return next;
  const allowed = new Set(origins);
  return (request, response) => {
    const origin = request.headers['origin'];
    if (typeof origin === 'string' && (allowed.has(origin) || allowed.has('*'))) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'origin');
      response.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', '));
      if (request.method === 'OPTIONS') {
        response.setHeader('access-control-allow-methods', 'POST, GET');
        response.setHeader('access-control-allow-headers', CORS_ALLOWED_HEADERS.join(', '));
        response.setHeader('access-control-max-age', '7200');
        response.writeHead(204);
        response.end();
        return;
      }
    }
    next(request, response);
  };
}
