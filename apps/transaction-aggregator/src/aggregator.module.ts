import { AmountLimits } from '@saldo/ledger-domain';
import { Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from '@saldo/logging';
import type { DataSource } from 'typeorm';
import { createRedisClient } from '@saldo/locks';
import { Admission } from './admission/admission';
import { ApiKeyStore } from './auth/api-key.store';
import { parseBootstrapKeys } from './auth/bootstrap-keys';
import { AggregatorCaches } from './cache/aggregator-caches';
import { KeyCipher } from './auth/key-crypto';
import { AGGREGATOR_CONFIG, type AggregatorConfig } from './config';
import { createAggregatorDataSource } from './database/aggregator-data-source';
import { TransactionGrpcController } from './grpc/transaction.grpc-controller';
import { LedgerClient } from './ledger/ledger-client';
import { BalanceActionsConsumer } from './pubsub/balance-actions.consumer';
import { AggregatorRepository } from './wallets/aggregator.repository';
import { AggregatorService } from './wallets/aggregator.service';
import { MigrationGuard } from './wallets/migration-guard';

const LOGGER = Symbol('LOGGER');
const DATA_SOURCE = Symbol('DATA_SOURCE');

/** Wires the aggregator: PostgreSQL (its own schema), the ledger client, API keys, the gRPC controller and the Pub/Sub intake. */
@Module({})
export class AggregatorModule implements OnApplicationBootstrap, OnApplicationShutdown {
  static forConfig(config: AggregatorConfig, logger: Logger) {
    return {
      module: AggregatorModule,
      controllers: [TransactionGrpcController],
      providers: [
        { provide: AGGREGATOR_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: DATA_SOURCE,
          useFactory: () =>
            createAggregatorDataSource(config.DATABASE_URL, config.AGGREGATOR_DB_POOL_SIZE).initialize(),
        },
        {
          provide: LedgerClient,
          useFactory: () =>
            new LedgerClient(
              config.AGGREGATOR_LEDGER_TARGET,
              config.LEDGER_SERVICE_TOKEN,
              config.AGGREGATOR_LEDGER_DEADLINE_MS,
            ),
        },
        {
          provide: AggregatorCaches,
          useFactory: async () => {
            const caches = new AggregatorCaches(
              config.DATABASE_URL,
              { keys: config.AGGREGATOR_KEY_CACHE_SIZE, wallets: config.AGGREGATOR_WALLET_CACHE_SIZE },
              logger,
            );
            await caches.start();
            return caches;
          },
        },
        {
          provide: ApiKeyStore,
          inject: [DATA_SOURCE, AggregatorCaches],
          useFactory: async (db: DataSource, caches: AggregatorCaches) => {
            const store = new ApiKeyStore(db, new KeyCipher(config.SALDO_KEY_ENCRYPTION_KEY), caches);
            const result = await store.bootstrap(parseBootstrapKeys(config.SALDO_API_KEYS));
            logger.info(result, 'API keys from SALDO_API_KEYS registered');
            return store;
          },
        },
        {
          provide: AggregatorService,
          inject: [DATA_SOURCE, LedgerClient, AggregatorCaches],
          useFactory: async (db: DataSource, ledger: LedgerClient, caches: AggregatorCaches) =>
            new AggregatorService(
              new AggregatorRepository(db),
              ledger.api,
              caches,
              {
                maxBatchSize: config.AGGREGATOR_LEDGER_BATCH_SIZE,
                maxConcurrentBatches: config.AGGREGATOR_LEDGER_BATCHES_IN_FLIGHT,
                maxQueued: config.AGGREGATOR_LEDGER_QUEUE_MAX,
              },
              AmountLimits.parse(
                config.AGGREGATOR_MAX_AMOUNT_PER_ACTION,
                config.AGGREGATOR_MAX_AMOUNT_BY_ASSET,
              ),
              await startedGuard(db),
            ),
        },
        {
          provide: Admission,
          useFactory: () =>
            new Admission(
              {
                maxInFlight: config.AGGREGATOR_MAX_IN_FLIGHT,
                perKeyMaxInFlight: config.AGGREGATOR_KEY_MAX_IN_FLIGHT,
                tenantRatePerS: config.AGGREGATOR_TENANT_RATE_PER_S,
                retryAfterMs: config.AGGREGATOR_ADMISSION_RETRY_AFTER_MS,
              },
              createRedisClient(config.REDIS_URL, 'saldo-transaction-aggregator', logger),
              logger,
            ),
        },
        {
          provide: BalanceActionsConsumer,
          inject: [ApiKeyStore, AggregatorService],
          useFactory: (keys: ApiKeyStore, service: AggregatorService) =>
            new BalanceActionsConsumer(config, keys, service, logger),
        },
      ],
    };
  }

  constructor(
    @Inject(AGGREGATOR_CONFIG) private readonly config: AggregatorConfig,
    private readonly consumer: BalanceActionsConsumer,
    private readonly ledger: LedgerClient,
    private readonly caches: AggregatorCaches,
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    private readonly admission: Admission,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.AGGREGATOR_PUBSUB_ENABLED) await this.consumer.start();
  }

  /** In-flight Pub/Sub messages finish before the database and the ledger client go away. */
  async onApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
    this.ledger.close();
    await this.caches.close();
    this.admission.close();
    await this.db.destroy();
  }
}

/** The migration write guard, loaded before the service takes its first call. */
async function startedGuard(db: DataSource): Promise<MigrationGuard> {
  const guard = new MigrationGuard(db);
  await guard.start();
  return guard;
}
