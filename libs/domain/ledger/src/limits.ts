import { LedgerError } from './ledger-error';
import { MAX_AMOUNT_MINOR } from './money';

/**
 * The default largest amount of one action, in minor units: 10^15 (USD 10 trillion at scale 2).
 * Far below 2^63 ≈ 9.2·10^18, so one action can never take an account's totals near the bigint
 * range, and a tenant's typo or bug cannot post an amount that dwarfs its whole ledger.
 */
export const DEFAULT_MAX_AMOUNT_PER_ACTION = 1_000_000_000_000_000n;

const ASSET = /^[A-Z][A-Z0-9_]{1,15}$/;
const DIGITS = /^[1-9][0-9]{0,18}$/;

/** Per-action maximum amounts: one default and optional per-asset overrides (configuration). */
export class AmountLimits {
  static readonly DEFAULT = new AmountLimits(DEFAULT_MAX_AMOUNT_PER_ACTION);

  constructor(
    readonly defaultMax: bigint,
    readonly byAsset: ReadonlyMap<string, bigint> = new Map(),
  ) {
    for (const max of [defaultMax, ...byAsset.values()]) {
      if (max < 1n || max > MAX_AMOUNT_MINOR) throw new Error(`amount limit ${max} is out of range`);
    }
  }

  maxFor(assetCode: string | undefined): bigint {
    return (assetCode && this.byAsset.get(assetCode)) || this.defaultMax;
  }

  /** The amount when it is within the asset's maximum, else AMOUNT_LIMIT_EXCEEDED on the field. */
  check(amount: bigint, assetCode: string | undefined, field: string): bigint {
    const max = this.maxFor(assetCode);
    if (amount > max) {
      throw new LedgerError(
        'AMOUNT_LIMIT_EXCEEDED',
        `${field}: at most ${max} minor units${assetCode ? ` of ${assetCode}` : ''} per action (got ${amount})`,
        { field, facts: { max_amount: max.toString(), ...(assetCode ? { asset_code: assetCode } : {}) } },
      );
    }
    return amount;
  }

  /**
   * From configuration: a default ("1000000000000000") and overrides ("USD=100000000,IDR=5000000000").
   * Throws an Error naming what is wrong (config validation shows it with the variable's name).
   */
  static parse(defaultRaw: string, byAssetRaw: string): AmountLimits {
    if (!DIGITS.test(defaultRaw.trim())) throw new Error('expected a whole number of minor units ≥ 1');
    const byAsset = new Map<string, bigint>();
    for (const entry of byAssetRaw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [asset = '', max = ''] = entry.split('=').map((p) => p.trim());
      if (!ASSET.test(asset) || !DIGITS.test(max))
        throw new Error(`"${entry}": expected ASSET=max minor units, e.g. USD=100000000`);
      byAsset.set(asset, BigInt(max));
    }
    return new AmountLimits(BigInt(defaultRaw.trim()), byAsset);
  }
}

/** True when `AmountLimits.parse` accepts the pair (for configuration schemas). */
export function validAmountLimits(defaultRaw: string, byAssetRaw: string): boolean {
  try {
    AmountLimits.parse(defaultRaw, byAssetRaw);
    return true;
  } catch {
    return false;
  }
}
