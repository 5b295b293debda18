import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { ConfigError, describeConfig } from '@saldo/config';
import { GrpcErrorFilter, grpcServerOptions } from '@saldo/grpc-kit';
import { createLogger, PinoNestLogger } from '@saldo/logging';
import { protoFile, protoRoot } from '@saldo/proto';
import { loadLedgerConfig } from './config';
import { LedgerModule } from './ledger.module';

const SERVICE = 'saldo.ledger.v1.LedgerService';

async function main(): Promise<void> {
  const config = loadLedgerConfig();
  const logger = createLogger('wallet-ledger', config.LOG_LEVEL);
  const grpc = grpcServerOptions({
    url: config.LEDGER_GRPC_URL,
    packageName: 'saldo.ledger.v1',
    serviceNames: [SERVICE],
    protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
    includeDirs: [protoRoot()],
  });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(LedgerModule.forConfig(config, logger), {
    ...grpc.options,
    logger: new PinoNestLogger(logger),
  });
  app.useGlobalFilters(new GrpcErrorFilter(logger));
  await app.listen();
  grpc.health.setStatus('', 'SERVING');
  grpc.health.setStatus(SERVICE, 'SERVING');
  logger.info({ url: config.LEDGER_GRPC_URL, config: describeConfig(config) }, 'wallet-ledger is serving');

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down: draining in-flight calls');
    grpc.health.setStatus('', 'NOT_SERVING');
    grpc.health.setStatus(SERVICE, 'NOT_SERVING');
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`wallet-ledger cannot start.\n${error.message}\n`);
  } else {
    process.stderr.write(`wallet-ledger failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
