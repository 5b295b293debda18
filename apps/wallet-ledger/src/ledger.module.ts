import { AmountLimits } from '@saldo/ledger-domain';
import { Inject, Module, type OnApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { WalletLocks, createRedisClient } from '@saldo/locks';
import { createLogger, type Logger } from '@saldo/logging';
import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import { LEDGER_CONFIG, type LedgerConfig } from './config';
import { createLedgerDataSource } from './database/ledger-data-source';
import { GrantsService } from './grants/grants.service';
import { GrantExpirySweeper, HoldExpirySweeper } from './ledger/expiry.sweeper';
import { LedgerGrpcController } from './ledger/ledger.grpc-controller';
import { LedgerRepository } from './ledger/ledger.repository';
import { LedgerService } from './ledger/ledger.service';
import { PostingBatcher } from './ledger/posting-batcher';
import { ServiceTokenGuard } from './ledger/service-token.guard';

export const LOGGER = Symbol('LOGGER');
const DATA_SOURCE = Symbol('DATA_SOURCE');
export const REDIS = Symbol('REDIS');
export const WALLET_LOCKS = Symbol('WALLET_LOCKS');

/** Wires the wallet-ledger: PostgreSQL, Redis locks, the use cases, the sweeper and the gRPC controller. */
@Module({})
export class LedgerModule implements OnApplicationBootstrap, OnApplicationShutdown {
  static forConfig(config: LedgerConfig, logger: Logger = createLogger('wallet-ledger', config.LOG_LEVEL)) {
    return {
      module: LedgerModule,
      controllers: [LedgerGrpcController],
      providers: [
        { provide: LEDGER_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: DATA_SOURCE,
          useFactory: () =>
            createLedgerDataSource(config.DATABASE_URL, config.LEDGER_DB_POOL_SIZE).initialize(),
        },
        // Quiet while Redis is away: one warning per outage, one info on recovery (issue 11 #9).
        {
          provide: REDIS,
          useFactory: () => createRedisClient(config.REDIS_URL, 'saldo-wallet-ledger', logger),
        },
        {
          provide: WALLET_LOCKS,
          inject: [REDIS],
          useFactory: (redis: Redis) =>
            new WalletLocks(redis, {
              mode: config.LEDGER_REDIS_LOCK_MODE,
              ttlMs: config.LEDGER_LOCK_TTL_MS,
              retryCount: config.LEDGER_LOCK_RETRY_COUNT,
              retryDelayMs: config.LEDGER_LOCK_RETRY_DELAY_MS,
              maxWaitersPerKey: config.LEDGER_LOCK_MAX_WAITERS,
              keyPrefix: 'saldo:ledger:lock:',
              logger,
            }),
        },
        {
          provide: LedgerService,
          inject: [DATA_SOURCE, WALLET_LOCKS],
          useFactory: (db: DataSource, locks: WalletLocks) => {
            const repository = new LedgerRepository(db);
            const batcher = new PostingBatcher(repository, locks, {
              maxBatchSize: config.LEDGER_BATCH_MAX,
              maxConcurrentBatches: config.LEDGER_BATCH_CONCURRENCY,
              maxQueued: config.LEDGER_BATCH_MAX_QUEUED,
            });
            return new LedgerService(
              repository,
              batcher,
              AmountLimits.parse(config.LEDGER_MAX_AMOUNT_PER_ACTION, config.LEDGER_MAX_AMOUNT_BY_ASSET),
            );
          },
        },
        {
          provide: HoldExpirySweeper,
          inject: [LedgerService],
          useFactory: (ledger: LedgerService) =>
            new HoldExpirySweeper(
              ledger,
              logger,
              config.LEDGER_HOLD_SWEEP_INTERVAL_MS,
              config.LEDGER_HOLD_SWEEP_BATCH,
            ),
        },
        {
          provide: GrantsService,
          inject: [DATA_SOURCE, LedgerService],
          useFactory: (db: DataSource, ledger: LedgerService) => new GrantsService(db, ledger),
        },
        {
          provide: GrantExpirySweeper,
          inject: [GrantsService],
          useFactory: (grants: GrantsService) =>
            new GrantExpirySweeper(
              grants,
              logger,
              config.LEDGER_HOLD_SWEEP_INTERVAL_MS,
              config.LEDGER_HOLD_SWEEP_BATCH,
            ),
        },
        ServiceTokenGuard,
      ],
    };
  }

  constructor(
    private readonly sweeper: HoldExpirySweeper,
    private readonly grantSweeper: GrantExpirySweeper,
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  onApplicationBootstrap(): void {
    this.sweeper.start();
    this.grantSweeper.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.sweeper.stop(), this.grantSweeper.stop()]);
    await this.db.destroy();
    this.redis.disconnect();
  }
}
