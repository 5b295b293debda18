import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';

/**
 * How every Saldo service loads its protos: int64 as decimal strings (money never becomes a JS
 * number), enums as their names, defaults filled in, field names in lowerCamelCase (as ts-proto).
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  arrays: true,
  objects: true,
} as const;

export interface GrpcServerSetup {
  /** Set once the service is ready; flip to NOT_SERVING on shutdown so balancers drain first. */
  health: HealthImplementation;
  options: GrpcOptions;
}

/** NestJS gRPC options plus the standard health service and server reflection. */
export function grpcServerOptions(params: {
  url: string;
  packageName: string;
  serviceNames: readonly string[];
  protoPath: string;
  includeDirs: readonly string[];
  maxConcurrentStreams?: number;
}): GrpcServerSetup {
  const health = new HealthImplementation({
    '': 'NOT_SERVING',
    ...Object.fromEntries(params.serviceNames.map((name) => [name, 'NOT_SERVING' as const])),
  });
  const options: GrpcOptions = {
    transport: Transport.GRPC,
    options: {
      url: params.url,
      package: params.packageName,
      protoPath: params.protoPath,
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [...params.includeDirs] },
      gracefulShutdown: true,
      channelOptions: {
        'grpc.max_concurrent_streams': params.maxConcurrentStreams ?? 1000,
        'grpc.keepalive_permit_without_calls': 1,
      },
      onLoadPackageDefinition: (pkg: PackageDefinition, server: Pick<Server, 'addService'>) => {
        health.addToServer(server as Server);
        // Reflection describes the health service too, so `grpcurl list` shows everything served.
        const healthDefinition = loadSync(healthProtoPath, PROTO_LOADER_OPTIONS);
        new ReflectionService({ ...pkg, ...healthDefinition }).addToServer(server);
      },
    },
  };
  return { health, options };
}
