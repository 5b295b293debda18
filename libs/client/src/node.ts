// Transports for Node: gRPC (HTTP/2) to the aggregator's gRPC port or its HTTP door, Connect or
// gRPC-Web (HTTP/1.1 or HTTP/2) to the HTTP door.
import type { Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';

export type NodeProtocol = 'grpc' | 'connect' | 'grpc-web';

export interface NodeTransportOptions {
  /** "http://127.0.0.1:50051" (gRPC port) or "http://127.0.0.1:8080" (HTTP door); https for TLS. */
  baseUrl: string;
  /** Default 'grpc'. */
  protocol?: NodeProtocol;
  /** Connect / gRPC-Web only: '1.1' (default) or '2' (cleartext HTTP/2 with prior knowledge). */
  httpVersion?: '1.1' | '2';
  /** Connect only: protobuf binary instead of JSON. */
  useBinaryFormat?: boolean;
}

export function createNodeTransport(options: NodeTransportOptions): Transport {
  const { baseUrl } = options;
  switch (options.protocol ?? 'grpc') {
    case 'grpc':
      return createGrpcTransport({ baseUrl });
    case 'grpc-web':
      return createGrpcWebTransport({ baseUrl, httpVersion: options.httpVersion ?? '1.1' });
    case 'connect':
      return createConnectTransport({
        baseUrl,
        httpVersion: options.httpVersion ?? '1.1',
        useBinaryFormat: options.useBinaryFormat ?? false,
      });
    default:
      throw new RangeError(`unknown protocol ${String(options.protocol)}: grpc, connect or grpc-web`);
  }
}
