import type { Mapping } from '../source/mapping';

/**
 * The legacy simulator's own schema (in its own database): what an older wallet service might
 * look like. Balances in ten-thousandths of a major unit, one-letter models, a change log with the
 * balance after each change, and a write-freeze flag its writers obey.
 */
export const SIMULATOR_SCHEMA = [
  `CREATE SCHEMA IF NOT EXISTS legacy`,
  `CREATE TABLE IF NOT EXISTS legacy.wallet (
     wid          bigint PRIMARY KEY,
     cust_ref     text NOT NULL,
     -- P personal, E enterprise, M enterprise member, R reseller, C reseller client (Z: a model nobody mapped)
     kind         text NOT NULL,
     parent_wid   bigint REFERENCES legacy.wallet (wid),
     ccy          text NOT NULL,
     bal_e4       bigint NOT NULL DEFAULT 0,
     overdraft_e4 bigint NOT NULL DEFAULT 0,
     CHECK (bal_e4 >= -overdraft_e4)
   )`,
  `CREATE TABLE IF NOT EXISTS legacy.wallet_log (
     change_id    bigint PRIMARY KEY,
     wid          bigint NOT NULL REFERENCES legacy.wallet (wid),
     op           text NOT NULL,
     amount_e4    bigint NOT NULL,
     bal_after_e4 bigint NOT NULL,
     counter_wid  bigint,
     at           timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
  `CREATE INDEX IF NOT EXISTS wallet_log_by_wallet ON legacy.wallet_log (wid, change_id)`,
  `CREATE SEQUENCE IF NOT EXISTS legacy.change_seq`,
  `CREATE TABLE IF NOT EXISTS legacy.control (
     id            int PRIMARY KEY CHECK (id = 1),
     write_freeze  boolean NOT NULL DEFAULT false
   )`,
  `INSERT INTO legacy.control (id) VALUES (1) ON CONFLICT DO NOTHING`,
];

/** The mapping of the simulator's schema (`--mapping simulator`, the default). */
export const SIMULATOR_MAPPING: Mapping = {
  wallets: {
    table: 'legacy.wallet',
    id: 'wid',
    owner: 'cust_ref',
    currency: 'ccy',
    model: 'kind',
    parent: 'parent_wid',
    overdraft: 'overdraft_e4',
  },
  changes: {
    table: 'legacy.wallet_log',
    id: 'change_id',
    wallet: 'wid',
    kind: 'op',
    amount: 'amount_e4',
    balanceAfter: 'bal_after_e4',
    at: 'at',
    counterparty: 'counter_wid',
    openKind: 'OPEN',
  },
  models: {
    P: 'personal',
    E: 'enterprise',
    M: 'enterprise_member',
    R: 'reseller',
    C: 'reseller_client',
  },
  currencies: {},
  idType: 'bigint',
  amountScale: 4,
  freeze: { table: 'legacy.control', column: 'write_freeze' },
};
