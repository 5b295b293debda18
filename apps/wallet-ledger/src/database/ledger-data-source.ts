import { createDataSource } from '@saldo/postgres';
import type { DataSource } from 'typeorm';
import { LedgerSchema1767225600000 } from './migrations/1767225600000-ledger-schema';
import { LedgerPostingFunctions1767225600001 } from './migrations/1767225600001-ledger-posting-functions';
import { OutboxRelay1767225600002 } from './migrations/1767225600002-outbox-relay';
import { ShadowCredits1767225600003 } from './migrations/1767225600003-shadow-credits';
import { SetBasedPosting1767225600010 } from './migrations/1767225600010-set-based-posting';
import { BalancedCheckProbe1767225600011 } from './migrations/1767225600011-balanced-check-probe';
import { CreditGrants1767225600040 } from './migrations/1767225600040-credit-grants';
import { BulkWalletAccounts1767225600050 } from './migrations/1767225600050-bulk-wallet-accounts';

/** Every migration of the ledger, in order. Append only. */
export const LEDGER_MIGRATIONS = [
  LedgerSchema1767225600000,
  LedgerPostingFunctions1767225600001,
  OutboxRelay1767225600002,
  ShadowCredits1767225600003,
  SetBasedPosting1767225600010,
  BalancedCheckProbe1767225600011,
  CreditGrants1767225600040,
  BulkWalletAccounts1767225600050,
];

export const LEDGER_MIGRATION_LOCK = 'saldo:wallet-ledger:migrations';

export function createLedgerDataSource(url: string, poolSize: number): DataSource {
  return createDataSource({
    url,
    poolSize,
    applicationName: 'saldo-wallet-ledger',
    migrations: LEDGER_MIGRATIONS,
    migrationsTableName: 'ledger_migrations',
    // No posting waits on a row lock for long: it fails with ABORTED and the caller retries.
    lockTimeoutMs: 5_000,
  });
}
