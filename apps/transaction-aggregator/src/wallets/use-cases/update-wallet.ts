import { LedgerError, parseOptionalAmount, type TenantId } from '@saldo/ledger-domain';
import { transactionV1 } from '@saldo/proto';
import { callerMetadata, optionalText, requirePublicKey, requireWalletId } from '../input';
import type { WalletContext } from '../wallet-context';
import { limitPeriodOf, rule } from '../wallet-rules';
import { requireWritable } from '../wallet-status';
import { changeWallet } from './wallet-change';

const MAX_REMOVED_KEYS = 50;

/** UpdateWallet: a member's spend limit and period, metadata, the external reference; audited. */
export async function updateWallet(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.UpdateWalletRequest,
): Promise<transactionV1.Wallet> {
  const key = requirePublicKey(request.idempotencyKey);
  const walletId = requireWalletId(request.walletId, 'wallet_id');
  const spendLimit = parseOptionalAmount(request.spendLimit, 'spend_limit');
  if (spendLimit !== undefined && request.clearSpendLimit)
    throw LedgerError.invalid('clear_spend_limit', 'give spend_limit or clear_spend_limit, not both');
  const period =
    request.limitPeriod === transactionV1.LimitPeriod.LIMIT_PERIOD_UNSPECIFIED
      ? undefined
      : limitPeriodOf(request.limitPeriod);
  const setMetadata = callerMetadata(request.metadata);
  const removeKeys = request.removeMetadataKeys ?? [];
  if (removeKeys.length > MAX_REMOVED_KEYS)
    throw LedgerError.invalid('remove_metadata_keys', `at most ${MAX_REMOVED_KEYS} keys`);
  const externalReference = optionalText(request.externalReference, 'external_reference', 128) || undefined;
  const reason = optionalText(request.reason, 'reason', 256);
  const touchesMetadata = Object.keys(setMetadata).length > 0 || removeKeys.length > 0;
  if (
    spendLimit === undefined &&
    !request.clearSpendLimit &&
    !period &&
    !touchesMetadata &&
    !externalReference
  )
    throw LedgerError.invalid('wallet_id', 'nothing to change');

  const wallet = await ctx.requireWallet(tenant, walletId, 'wallet_id');
  requireWritable('wallet_id', wallet);
  if ((spendLimit !== undefined || request.clearSpendLimit || period) && wallet.role !== 'member')
    throw rule(
      spendLimit !== undefined ? 'spend_limit' : 'limit_period',
      'only enterprise members have a spend limit',
    );

  const command = {
    wallet_id: walletId,
    spend_limit: spendLimit?.toString() ?? '',
    clear_spend_limit: request.clearSpendLimit,
    limit_period: period ?? '',
    metadata: setMetadata,
    remove_metadata_keys: [...removeKeys].sort(),
    external_reference: externalReference ?? '',
    reason,
  };
  return changeWallet(
    ctx,
    tenant,
    walletId,
    command,
    {
      key,
      action: 'UpdateWallet',
      reason,
      spendLimitMinor: request.clearSpendLimit ? null : spendLimit?.toString(),
      limitPeriod: period,
      externalReference,
    },
    (locked) => {
      requireWritable('wallet_id', locked);
      if (!touchesMetadata) return undefined;
      // Merged with the metadata as it is under the lock, so concurrent updates both count.
      const merged = { ...locked.metadata, ...setMetadata };
      for (const name of removeKeys) delete merged[name];
      return { metadata: merged };
    },
  );
}
