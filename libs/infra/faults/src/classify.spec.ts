import { LedgerError } from '@saldo/ledger-domain';
import { classifyFault, dependencyError } from './classify';
import { exitCodeOfStatus } from './status';

describe('classifyFault (shapes of the drivers)', () => {
  it.each([
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, 'unavailable'],
    [{ code: '57P03', message: 'the database system is starting up' }, 'unavailable'],
    [new Error('the database system is shutting down'), 'unavailable'],
    [new Error('Connection terminated unexpectedly'), 'unavailable'],
    [new Error('timeout exceeded when trying to connect'), 'unavailable'],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      'unavailable',
    ],
    [{ code: '55P03', message: 'canceling statement due to lock timeout' }, 'retry'],
    [{ code: '40001', message: 'could not serialize access' }, 'retry'],
    [new LedgerError('RESOURCE_EXHAUSTED', 'busy'), 'overloaded'],
  ])('%p → %s', (error, kind) => {
    expect(classifyFault(error)?.kind).toBe(kind);
  });

  it('follows cause and AggregateError', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(classifyFault(new AggregateError([inner], ''))?.kind).toBe('unavailable');
    expect(classifyFault(new Error('wrapped', { cause: inner }))?.kind).toBe('unavailable');
  });

  it('leaves refusals and bugs alone', () => {
    expect(classifyFault(new TypeError('x is undefined'))).toBeUndefined();
    expect(classifyFault(LedgerError.invalid('amount', 'bad'))).toBeUndefined();
    expect(dependencyError({ code: '23505' })).toBeUndefined();
  });

  it('CLI exit code 3 for every retryable status', () => {
    expect([14, 10, 8, 4].map(exitCodeOfStatus)).toEqual([3, 3, 3, 3]);
    expect([3, 5, 9, 13, 2].map(exitCodeOfStatus)).toEqual([1, 1, 1, 1, 1]);
  });
});
