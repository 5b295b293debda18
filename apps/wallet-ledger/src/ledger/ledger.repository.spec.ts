import { LedgerError } from '@saldo/ledger-domain';
import { toLedgerError } from './ledger.repository';

const pgError = (code: string, message = 'x', extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });

describe('toLedgerError: PostgreSQL failures as ledger errors', () => {
  it('turns SQLSTATE SL001 raised by the ledger functions into the coded error with field and facts', () => {
    const error = toLedgerError(
      pgError('SL001', 'INSUFFICIENT_FUNDS', {
        detail: 'insufficient funds: account a would be 3 short',
        hint: '{"field":"amount","facts":{"shortfall":3}}',
      }),
    ) as LedgerError;
    expect(error).toBeInstanceOf(LedgerError);
    expect(error.code).toBe('INSUFFICIENT_FUNDS');
    expect(error.message).toBe('insufficient funds: account a would be 3 short');
    expect(error.details).toEqual({ field: 'amount', facts: { shortfall: '3' } });
  });

  it.each([
    ['55P03', 'CONFLICT_RETRY'], // lock timeout
    ['40P01', 'CONFLICT_RETRY'], // deadlock
    ['40001', 'CONFLICT_RETRY'], // serialization failure
    ['57014', 'CONFLICT_RETRY'], // statement timeout
    ['57P01', 'DEPENDENCY_UNAVAILABLE'], // server shutting down
    ['ECONNREFUSED', 'DEPENDENCY_UNAVAILABLE'],
    ['22003', 'BALANCE_OVERFLOW'],
  ])('maps SQLSTATE %s to %s', (sqlstate, code) => {
    expect((toLedgerError(pgError(sqlstate)) as LedgerError).code).toBe(code);
  });

  it('maps the wallet-limit CHECK to INSUFFICIENT_FUNDS and leaves other failures alone (INTERNAL upstream)', () => {
    expect(
      (toLedgerError(pgError('23514', 'check', { constraint: 'accounts_within_limit' })) as LedgerError).code,
    ).toBe('INSUFFICIENT_FUNDS');
    const guard = pgError('SL003', 'entry breaks its chain');
    expect(toLedgerError(guard)).toBe(guard);
    const unknownDomain = pgError('SL001', 'NOT_A_CODE');
    expect(toLedgerError(unknownDomain)).toBe(unknownDomain);
  });
});
