import { status } from '@grpc/grpc-js';
import { LEDGER_ERROR_CODES, LedgerError } from '@saldo/ledger-domain';
import { decodeStatusDetails } from './status-details';
import { grpcStatusOf, toGrpcError } from './error-mapping';

describe('domain errors on gRPC', () => {
  it('maps every code to a status, never UNKNOWN or OK', () => {
    for (const code of LEDGER_ERROR_CODES) {
      expect([status.UNKNOWN, status.OK]).not.toContain(grpcStatusOf(code));
    }
    expect(grpcStatusOf('INVALID_ARGUMENT')).toBe(status.INVALID_ARGUMENT);
    expect(grpcStatusOf('ACCOUNT_NOT_FOUND')).toBe(status.NOT_FOUND);
    expect(grpcStatusOf('INSUFFICIENT_FUNDS')).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf('HOLD_NOT_PENDING')).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf('IDEMPOTENCY_CONFLICT')).toBe(status.ALREADY_EXISTS);
    expect(grpcStatusOf('CONFLICT_RETRY')).toBe(status.ABORTED);
    expect(grpcStatusOf('DEPENDENCY_UNAVAILABLE')).toBe(status.UNAVAILABLE);
  });

  it('carries the code, the field and the facts as trailers and google.rpc.Status details', () => {
    const error = toGrpcError(
      new LedgerError('INSUFFICIENT_FUNDS', 'insufficient funds: 3 short', {
        field: 'amount',
        facts: { shortfall: '3' },
      }),
    );
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.metadata.get('saldo-error-code')).toEqual(['INSUFFICIENT_FUNDS']);
    expect(error.metadata.get('saldo-error-field')).toEqual(['amount']);
    const details = decodeStatusDetails(error.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(details).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: 'INSUFFICIENT_FUNDS',
      facts: { shortfall: '3' },
      fieldViolations: [{ field: 'amount', description: 'insufficient funds: 3 short' }],
    });
  });

  it('hides anything that is not a domain error behind INTERNAL', () => {
    const error = toGrpcError(new Error('connection string postgres://u:secret@db leaked'));
    expect(error.code).toBe(status.INTERNAL);
    expect(error.message).not.toContain('secret');
    expect(error.metadata.get('saldo-error-code')).toEqual(['INTERNAL']);
  });
});
