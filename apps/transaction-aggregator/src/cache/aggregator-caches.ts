import type { Logger } from '@saldo/logging';
import { PgListener } from '@saldo/postgres';
import type { WalletRow } from '../wallets/aggregator.repository';
import { CoherentCache } from './coherent-cache';

/** NOTIFY channels, sent by triggers on aggregator.api_keys and aggregator.wallets (migration 1767700000010). */
export const API_KEYS_CHANNEL = 'saldo_api_keys';
export const WALLETS_CHANNEL = 'saldo_wallets';

/** An active API key as authentication needs it (more columns may join; see ApiKeyStore). */
export interface CachedKey {
  id: string;
  tenant_id: string;
  /** Scoped keys (issue 11 #8): checked per call; expiry checked at use time. */
  scopes: string[];
  expires_at: Date | null;
}

/** A tenant's active keys, decrypted, for verifying Pub/Sub signatures. */
export interface CachedSigningKeys {
  keys: ReadonlyArray<{ id: string; key: string; expiresAt?: Date | null }>;
}

export interface CacheSizes {
  keys: number;
  wallets: number;
}

/**
 * The aggregator's in-process caches, so a plain action needs no database round trip: API keys
 * (by hash), each tenant's signing keys, and wallet rows. All of them stay coherent across
 * instances through one LISTEN connection: a key's insert, update (revocation) or delete, and a
 * wallet's update or delete, NOTIFY every instance, which drops what it held. When the listener
 * connection is lost the caches stop serving and are emptied when it is back, so a notification
 * missed meanwhile cannot leave a revoked key (or a changed wallet) in use.
 */
export class AggregatorCaches {
  readonly keys: CoherentCache<string, CachedKey>;
  readonly signingKeys: CoherentCache<string, CachedSigningKeys>;
  readonly wallets: CoherentCache<string, WalletRow>;
  private readonly listener: PgListener;

  constructor(url: string, sizes: CacheSizes, logger: Logger) {
    this.keys = new CoherentCache(sizes.keys);
    this.signingKeys = new CoherentCache(sizes.keys);
    this.wallets = new CoherentCache(sizes.wallets);
    this.listener = new PgListener({
      url,
      applicationName: 'saldo-transaction-aggregator-listen',
      channels: [API_KEYS_CHANNEL, WALLETS_CHANNEL],
      onNotification: (channel, payload) => {
        if (channel === API_KEYS_CHANNEL) {
          // Keys change rarely: drop all of them rather than index the cache by key id too.
          this.keys.invalidate();
          this.signingKeys.invalidate();
        } else if (channel === WALLETS_CHANNEL) {
          this.wallets.invalidate(payload === '*' ? undefined : payload);
        }
      },
      onListening: () => {
        this.resetAll(true);
        logger.info('caches listening for key and wallet changes');
      },
      onLost: (error) => {
        this.resetAll(false);
        logger.warn({ err: error }, 'cache listener lost: every lookup reads the database until it is back');
      },
    });
  }

  static walletKey(tenant: string, walletId: string): string {
    return `${tenant}:${walletId}`;
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  async close(): Promise<void> {
    await this.listener.close();
  }

  private resetAll(trusted: boolean): void {
    this.keys.reset(trusted);
    this.signingKeys.reset(trusted);
    this.wallets.reset(trusted);
  }
}
