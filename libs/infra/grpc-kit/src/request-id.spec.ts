import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { protoFile, protoRoot } from '@saldo/proto';
import { currentRequestId, GrpcTracingInterceptor, withRequestId } from '@saldo/tracing';
import { lastValueFrom, of, defer } from 'rxjs';
import { createGrpcClient } from './grpc-client';
import { PROTO_LOADER_OPTIONS } from './server-options';

/** One request id follows a call from the caller's metadata into the handler and on to the next service. */
describe('request ids across gRPC', () => {
  it('the server interceptor runs the handler under the caller’s x-request-id, or a new one', async () => {
    const interceptor = new GrpcTracingInterceptor(() => 'OK');
    const contextWith = (requestId?: string) =>
      ({
        switchToRpc: () => ({
          getContext: () => {
            const metadata = new grpc.Metadata();
            if (requestId) metadata.set('x-request-id', requestId);
            return metadata;
          },
        }),
        getArgByIndex: () => ({ getPath: () => '/saldo.ledger.v1.LedgerService/GetAccount' }),
        getClass: () => Object,
        getHandler: () => Object,
      }) as unknown as ExecutionContext;
    const handler: CallHandler = { handle: () => defer(() => of(currentRequestId())) };
    expect(await lastValueFrom(interceptor.intercept(contextWith('req-from-caller'), handler))).toBe(
      'req-from-caller',
    );
    expect(await lastValueFrom(interceptor.intercept(contextWith(), handler))).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the shared client passes the current request id on to the next service', async () => {
    const definition = protoLoader.loadSync(protoFile('saldo/ledger/v1/ledger.proto'), {
      ...PROTO_LOADER_OPTIONS,
      includeDirs: [protoRoot()],
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      saldo: { ledger: { v1: { LedgerService: grpc.ServiceClientConstructor } } };
    };
    const seen: string[] = [];
    const server = new grpc.Server();
    server.addService(pkg.saldo.ledger.v1.LedgerService.service, {
      getAccount: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        seen.push(String(call.metadata.get('x-request-id')[0] ?? ''));
        callback({ code: grpc.status.NOT_FOUND, details: 'none' });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const { client, close } = createGrpcClient<{ getAccount(request: object): Promise<unknown> }>({
      protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
      includeDirs: [protoRoot()],
      serviceName: 'saldo.ledger.v1.LedgerService',
      address: `127.0.0.1:${port}`,
    });
    try {
      await withRequestId('req-7', () => client.getAccount({ tenantId: 't', accountId: 'a' })).catch(
        () => undefined,
      );
      await client.getAccount({ tenantId: 't', accountId: 'a' }).catch(() => undefined);
      expect(seen).toEqual(['req-7', '']);
    } finally {
      close();
      server.forceShutdown();
    }
  });
});
