import { randomUUID } from 'node:crypto';
import {
  LedgerError,
  parseAmount,
  parseOptionalAmount,
  requestFingerprint,
  type TenantId,
} from '@saldo/ledger-domain';
import { transactionV1 } from '@saldo/proto';
import { currencyScale } from '../currencies';
import { callerMetadata, optionalText, requirePublicKey, requiredText, requireWalletId } from '../input';
import { LifecycleRepository } from '../lifecycle.repository';
import type { WalletContext } from '../wallet-context';
import { A, ledgerKey, limitPeriodOf, OWNER_TYPES, roleUnder } from '../wallet-rules';
import { getWallet } from './wallet-views';

export async function openWallet(
  ctx: WalletContext,
  tenant: TenantId,
  request: transactionV1.OpenWalletRequest,
): Promise<transactionV1.Wallet> {
  const key = requirePublicKey(request.idempotencyKey);
  const ownerType = OWNER_TYPES[request.ownerType];
  if (!ownerType) throw LedgerError.invalid('owner_type', 'must be PERSONAL, ENTERPRISE or RESELLER');
  const ownerId = requiredText(request.ownerId, 'owner_id', 128);
  const externalReference = optionalText(request.externalReference, 'external_reference', 128);
  const { code: currency, scale } = currencyScale(request.currency);
  const parentId = request.parentWalletId
    ? requireWalletId(request.parentWalletId, 'parent_wallet_id')
    : null;
  const overdraft = parseAmount(request.overdraftLimit || '0', 'overdraft_limit', { allowZero: true });
  const spendLimit = parseOptionalAmount(request.spendLimit, 'spend_limit');
  const period = limitPeriodOf(request.limitPeriod);
  const metadata = callerMetadata(request.metadata);

  const parent = parentId ? await ctx.requireWallet(tenant, parentId, 'parent_wallet_id') : undefined;
  const role = roleUnder(parent, ownerType, currency);
  if (role === 'member' && overdraft > 0n) {
    throw LedgerError.invalid(
      'overdraft_limit',
      "a member spends its organisation's balance and has no overdraft of its own",
    );
  }
  if (
    role !== 'member' &&
    (spendLimit !== undefined || request.limitPeriod !== transactionV1.LimitPeriod.LIMIT_PERIOD_UNSPECIFIED)
  ) {
    throw LedgerError.invalid(
      spendLimit !== undefined ? 'spend_limit' : 'limit_period',
      'only enterprise members have a spend limit',
    );
  }

  if (role === 'member' && request.creditGrants) {
    throw LedgerError.invalid(
      'credit_grants',
      "a member spends its organisation's grants: open the enterprise wallet with credit_grants",
    );
  }

  const command = {
    owner_type: ownerType,
    owner_id: ownerId,
    currency,
    parent_wallet_id: parentId,
    overdraft_limit: overdraft.toString(),
    spend_limit: spendLimit?.toString() ?? null,
    limit_period: period,
    metadata,
    // Only when given, so the fingerprint of a request without one is what it always was.
    ...(externalReference ? { external_reference: externalReference } : {}),
    // Only when set, so a request without it keeps its fingerprint from before grants existed.
    ...(request.creditGrants ? { credit_grants: true } : {}),
  };
  const claimed = await ctx.repository.claim(tenant, {
    key,
    action: 'OpenWallet',
    requestHash: requestFingerprint('OpenWallet', command),
    resultId: randomUUID(),
  });
  const walletId = claimed.operation.result_id as string;
  if (claimed.kind === 'replay') return { ...(await getWallet(ctx, tenant, { walletId })), replayed: true };

  await ctx.settle(tenant, key, async () => {
    await ctx.ledger.defineAsset({ tenantId: tenant, code: currency, scale });
    const accountId =
      role === 'member'
        ? null
        : (
            await ctx.ledger.openAccount({
              tenantId: tenant,
              idempotencyKey: ledgerKey(key),
              assetCode: currency,
              type: A.ACCOUNT_TYPE_WALLET,
              overdraftLimit: command.overdraft_limit,
              externalRef: walletId,
              // The owner contract of the ledger's events and Firestore mirror (docs/events.md):
              // documents are keyed by the public wallet id, readable by its owner.
              metadata: {
                wallet_id: walletId,
                owner_type: ownerType,
                owner_id: ownerId,
                ...(parent ? { parent_owner_id: parent.owner_id } : {}),
              },
            })
          ).accountId;
    await ctx.repository.insertWallet(tenant, {
      id: walletId,
      owner_type: ownerType,
      owner_id: ownerId,
      currency,
      role,
      parent_wallet_id: parentId,
      ledger_account_id: accountId,
      spend_limit_minor: command.spend_limit,
      limit_period: period,
      metadata,
      credit_grants: request.creditGrants,
    });
    if (externalReference)
      await new LifecycleRepository(ctx.repository).setExternalReference(tenant, walletId, externalReference);
    return walletId;
  });
  return getWallet(ctx, tenant, { walletId });
}
