// Asks a server, through the standard gRPC server reflection service (v1, as grpcurl does), which
// services it offers.
import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import path from 'node:path';

const REFLECTION_PROTO = path.join(
  path.dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

export async function listServicesByReflection(target: string, timeoutMs = 5_000): Promise<string[]> {
  const definition = loadSync(REFLECTION_PROTO, { keepCase: true, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: {
      reflection: {
        v1: { ServerReflection: new (t: string, c: ReturnType<typeof credentials.createInsecure>) => Client };
      };
    };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(target, credentials.createInsecure());
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const call = (
        client as unknown as {
          ServerReflectionInfo(options: { deadline: Date }): ClientDuplexStream<unknown, unknown>;
        }
      ).ServerReflectionInfo({ deadline: new Date(Date.now() + timeoutMs) });
      call.on(
        'data',
        (response: {
          list_services_response?: { service: Array<{ name: string }> };
          error_response?: { error_message: string };
        }) => {
          if (response.error_response) reject(new Error(response.error_response.error_message));
          else
            resolve((response.list_services_response?.service ?? []).map((service) => service.name).sort());
          call.end();
        },
      );
      call.on('error', reject);
      call.write({ list_services: '' });
    });
  } finally {
    client.close();
  }
}
