import type { DescFile } from '@bufbuild/protobuf';
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import {
  encodedFileDescriptors,
  HEALTH_PROTO_FILE,
  LEDGER_PROTO_FILE,
  TRANSACTION_PROTO_FILE,
} from '@saldo/proto';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { HealthImplementation } from 'grpc-health-check';

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
  /** The .proto files reflection describes; default: Saldo's files that define `serviceNames`. */
  describe?: readonly DescFile[];
}): GrpcServerSetup {
  const described = params.describe ?? filesDefining(params.serviceNames);
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
      onLoadPackageDefinition: (_pkg: PackageDefinition, server: Pick<Server, 'addService'>) => {
        health.addToServer(server as Server);
        new ReflectionService(reflectionDefinition(described)).addToServer(server);
      },
    },
  };
  return { health, options };
}

/** Saldo's own files that define any of these services. */
function filesDefining(serviceNames: readonly string[]): DescFile[] {
  return [TRANSACTION_PROTO_FILE, LEDGER_PROTO_FILE].filter((file) =>
    file.services.some((service) => serviceNames.includes(service.typeName)),
  );
}

/**
 * What @grpc/reflection reads: the real FileDescriptorProtos (file names, imports, snake_case
 * fields), not the ones proto-loader derives from its camelCase load (invented file names, no
 * imports), which left buf curl and grpcurl unable to find the services. The health service is
 * described too, so `grpcurl list` shows everything served.
 */
function reflectionDefinition(files: readonly DescFile[]): PackageDefinition {
  const fileDescriptorProtos = encodedFileDescriptors([...files, HEALTH_PROTO_FILE]).map((bytes) =>
    Buffer.from(bytes),
  );
  return {
    'saldo.reflection': { format: 'Protocol Buffer 3 FileDescriptorProto', type: {}, fileDescriptorProtos },
  } as unknown as PackageDefinition;
}
