// Transports for browsers (fetch): Connect JSON (default) or gRPC-Web, to the aggregator's HTTP
// door (its AGGREGATOR_CONNECT_CORS_ORIGINS must allow the page's origin).
import type { Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';

export interface WebTransportOptions {
  /** The HTTP door, e.g. "https://api.example.com". */
  baseUrl: string;
  /** Default 'connect'. */
  protocol?: 'connect' | 'grpc-web';
  /** Connect only: protobuf binary instead of JSON. */
  useBinaryFormat?: boolean;
  fetch?: typeof globalThis.fetch;
}

export function createWebTransport(options: WebTransportOptions): Transport {
  return options.protocol === 'grpc-web'
    ? createGrpcWebTransport({ baseUrl: options.baseUrl, fetch: options.fetch })
    : createConnectTransport({
        baseUrl: options.baseUrl,
        useBinaryFormat: options.useBinaryFormat ?? false,
        fetch: options.fetch,
      });
}
