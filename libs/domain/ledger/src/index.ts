export { LedgerError, LEDGER_ERROR_CODES, isLedgerError } from './ledger-error';
export type { LedgerErrorCode, LedgerErrorDetails } from './ledger-error';
export { parseAmount, parseOptionalAmount, MAX_AMOUNT_MINOR, formatMinor } from './money';
export { validateLegs, MAX_LEGS } from './posting';
export { AmountLimits, DEFAULT_MAX_AMOUNT_PER_ACTION, validAmountLimits } from './limits';
export type { LegInput, ValidLeg, Side, SystemAccountType } from './posting';
export { SYSTEM_ACCOUNT_TYPES, ACCOUNT_TYPES, normalSideOf } from './accounts';
export type { AccountType, NormalSide } from './accounts';
export { computeBalance, splitShadow } from './balance';
export type { BalanceTotals, BalanceFigures, ShadowSplit } from './balance';
export { requestFingerprint } from './fingerprint';
export type { TenantId } from './input';
export {
  requireIdempotencyKey,
  requireId,
  requireTenant,
  parseAssetCode,
  parseScale,
  parseMetadata,
  requireStorableText,
  printableFieldName,
} from './input';
export { CURRENCY_SCALES } from './currencies';
export {
  allocateGrants,
  compareGrantConsumption,
  isGrantApplicable,
  GRANT_CATEGORIES,
  DEFAULT_GRANT_PRIORITY,
} from './grants';
export type { GrantTerms, GrantAllocation, GrantCategory } from './grants';
