import { status } from '@grpc/grpc-js';
import { dependencyError } from '@saldo/faults';
import { grpcStatusOf } from '@saldo/grpc-kit';
import { isLedgerError, LedgerError, type TenantId } from '@saldo/ledger-domain';
import type { transactionV1 } from '@saldo/proto';
import type { WalletContext } from '../wallet-context';
import { planBookUsage } from './book-usage';
import { capture } from './capture';
import { planReserve } from './reserve';
import { planTopUp } from './top-up';
import { planTransfer } from './transfer';
import { voidTransaction } from './void';
import type { WritePlan } from '../write-plan';

/** The most actions one SubmitBatch takes (the ledger's PostBatch takes as many). */
export const MAX_BATCH_ACTIONS = 1_000;
/** Actions of a batch that take the journal path (member spends, captures, voids) run this many at once. */
const JOURNAL_CONCURRENCY = 16;

type Planner = (ctx: WalletContext, tenant: TenantId, request: never) => Promise<WritePlan>;

/** The oneof of a BatchAction, by its field name, and how each is planned. */
const PLANNERS: ReadonlyArray<[keyof transactionV1.BatchAction, Planner]> = [
  ['topUp', planTopUp as Planner],
  ['bookUsage', planBookUsage as Planner],
  ['transfer', planTransfer as Planner],
  ['reserve', planReserve as Planner],
  [
    'capture',
    ((ctx, tenant, request) =>
      Promise.resolve({ mode: 'journal', run: () => capture(ctx, tenant, request) })) as Planner,
  ],
  [
    'void',
    ((ctx, tenant, request) =>
      Promise.resolve({ mode: 'journal', run: () => voidTransaction(ctx, tenant, request) })) as Planner,
  ],
];

/**
 * Up to 1,000 write actions with one outcome each (TigerBeetle's model: one pass over the batch, a
 * result per event, no exception per event). Every action is validated and planned first (wallet
 * facts come from the cache); the plain ones (top-ups, transfers, usage and holds of wallets
 * without a spend limit) are handed to the ledger batcher in batch order, so the ledger decides
 * them in that order within one PostBatch; the others (member spends, document top-ups, captures,
 * voids) take the journal path beside them. A refused action never fails its neighbours.
 */
export async function submitBatch(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.SubmitBatchRequest,
): Promise<transactionV1.SubmitBatchResponse> {
  const actions = request.actions ?? [];
  if (actions.length === 0 || actions.length > MAX_BATCH_ACTIONS)
    throw LedgerError.invalid('actions', `must hold 1 to ${MAX_BATCH_ACTIONS} actions`);
  const plans = await Promise.all(
    actions.map((action, i) =>
      planOf(ctx, tenant, action).catch((error: unknown) => ({ mode: 'refused' as const, error, i })),
    ),
  );
  // Plain actions join the ledger queue now, synchronously and in order.
  const results: Array<Promise<transactionV1.Transaction>> = plans.map((plan) => {
    if (plan.mode !== 'lean') return Promise.resolve(undefined as never);
    const result = ctx.executeLean(plan);
    result.catch(() => undefined); // read below, after the journal actions: not unhandled meanwhile
    return result;
  });
  const journal = plans.flatMap((plan, i) => (plan.mode === 'journal' ? [{ plan, i }] : []));
  await runBounded(journal, JOURNAL_CONCURRENCY, async ({ plan, i }) => {
    results[i] = plan.run();
    await results[i]?.catch(() => undefined);
  });
  const outcomes = await Promise.all(
    plans.map(async (plan, i): Promise<transactionV1.BatchOutcome> => {
      if (plan.mode === 'refused') return { error: batchError(plan.error) };
      try {
        return { transaction: await (results[i] as Promise<transactionV1.Transaction>) };
      } catch (error) {
        return { error: batchError(error) };
      }
    }),
  );
  return { outcomes };
}

function planOf(ctx: WalletContext, tenant: TenantId, action: transactionV1.BatchAction): Promise<WritePlan> {
  for (const [field, plan] of PLANNERS) {
    const request = action?.[field];
    if (request && typeof request === 'object') return plan(ctx, tenant, request as never);
  }
  return Promise.reject(
    LedgerError.invalid('action', 'must be one of top_up, book_usage, transfer, reserve, capture, void'),
  );
}

/** One action's failure as the public error fields; an unexpected error says nothing of itself. */
export function batchError(failure: unknown): transactionV1.BatchError {
  // A dependency failure that is not yet a LedgerError (a refused connection, …) is UNAVAILABLE/ABORTED.
  const error = isLedgerError(failure) ? failure : (dependencyError(failure) ?? failure);
  if (isLedgerError(error)) {
    return {
      code: status[grpcStatusOf(error.code)] as string,
      reason: error.code,
      message: error.message,
      field: error.details.field ?? '',
      facts: error.details.facts ?? {},
    };
  }
  return { code: 'INTERNAL', reason: 'INTERNAL', message: 'internal error', field: '', facts: {} };
}

async function runBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  });
  await Promise.all(lanes);
}
