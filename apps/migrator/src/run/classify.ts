import type { LegacyModel, LegacyWalletRecord, WalletBalanceAt } from '../source/legacy-source';
import {
  isChildModel,
  isMapped,
  mapWallet,
  type Mapping,
  type MappedWallet,
  type UnmappableWallet,
} from '../source/mapping';

export type Pass = 'standalone' | 'children';

export interface ClassifiedPage {
  mapped: MappedWallet[];
  unmapped: UnmappableWallet[];
  /** Wallets opened after the cursor: the catch-up opens them. */
  later: number;
}

/**
 * Maps one page of legacy wallets for one pass: standalone wallets (personal, enterprise, reseller,
 * and anything unmappable by model) in the first, members and clients in the second, once their
 * parents exist. `parentModel` answers for parents mapped in the first pass.
 */
export function classifyPage(
  tenant: string,
  mapping: Mapping,
  pass: Pass,
  records: readonly LegacyWalletRecord[],
  balances: ReadonlyMap<string, WalletBalanceAt>,
  parentModel: (legacyId: string) => LegacyModel | undefined,
): ClassifiedPage {
  const page: ClassifiedPage = { mapped: [], unmapped: [], later: 0 };
  for (const record of records) {
    const model = Object.hasOwn(mapping.models, record.model) ? mapping.models[record.model] : undefined;
    const child = model !== undefined && isChildModel(model);
    if ((pass === 'children') !== child) continue;
    const balance = balances.get(record.id) ?? { exists: true, balance: '0' };
    if (!balance.exists) {
      page.later++;
      continue;
    }
    const result = mapWallet(tenant, mapping, record, balance, parentModel);
    if (isMapped(result)) page.mapped.push(result);
    else page.unmapped.push(result);
  }
  return page;
}
