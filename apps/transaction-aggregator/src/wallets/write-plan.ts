import type { ledgerV1, transactionV1 } from '@saldo/proto';
import type { CompletedOperation } from './aggregator.repository';

/**
 * How a write runs, decided after validation and the wallet model's rules (no I/O but cached
 * wallet facts):
 * - lean: one ledger command, no claim. The ledger's idempotency key `agg:<caller key>` makes a
 *   retry a replay and refuses the key for another request; a usage or hold is recorded in the
 *   operation journal afterwards, once per ledger batch, so it counts in the wallet's period.
 * - journal: claim the key in the aggregator's journal first (a member's spend limit, a document
 *   top-up, a capture or void that adjusts the usage of what it acts on), then the ledger.
 */
export type WritePlan = LeanPlan | JournalPlan;

export interface LeanPlan {
  mode: 'lean';
  command: ledgerV1.BatchCommand;
  /** Usage and holds: the journal row to record once posted (its result id is the transaction's). */
  journal?: Omit<CompletedOperation, 'resultId'>;
}

export interface JournalPlan {
  mode: 'journal';
  run: () => Promise<transactionV1.Transaction>;
}
