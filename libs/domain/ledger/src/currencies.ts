/**
 * The currencies a wallet may hold and the scale of each (digits after the decimal point of one
 * major unit): the ISO 4217 minor units, plus CREDIT for prepaid credit units. Amounts on the wire
 * are always minor units ("15000" IDR is Rp 15.000; "15000" USD is $150.00). A code outside this
 * list is refused: a wrong scale cannot be corrected once an asset exists in the ledger.
 * (The aggregator's wallet API and the migrator both read this one table.)
 */
export const CURRENCY_SCALES: Readonly<Record<string, number>> = Object.freeze({
  IDR: 0,
  JPY: 0,
  KRW: 0,
  VND: 0,
  CREDIT: 0,
  USD: 2,
  EUR: 2,
  GBP: 2,
  SGD: 2,
  MYR: 2,
  THB: 2,
  PHP: 2,
  AUD: 2,
  INR: 2,
  CNY: 2,
});
