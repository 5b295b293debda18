import { ConsoleError } from '../http/console-error';
import { parseTenantKeys } from '../config';
import { requireRole, type Operator, type Role } from './roles';

const operator = (tenants: Record<string, Role>): Operator => ({
  userId: 'u1',
  email: 'ops@example.com',
  csrfToken: 'x'.repeat(43),
  tenants: new Map(Object.entries(tenants)),
});

describe('requireRole', () => {
  it('lets a role do what it and the roles below it may', () => {
    const op = operator({ demo: 'operator' });
    expect(requireRole(op, 'demo', 'viewer')).toBe('operator');
    expect(requireRole(op, 'demo', 'operator')).toBe('operator');
  });

  it('refuses a higher need with FORBIDDEN, and another tenant as NOT_FOUND', () => {
    const op = operator({ demo: 'viewer', other: 'admin' });
    expect(() => requireRole(op, 'demo', 'operator')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }) as unknown as ConsoleError,
    );
    expect(() => requireRole(op, 'third', 'viewer')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }) as unknown as ConsoleError,
    );
    expect(requireRole(op, 'other', 'admin')).toBe('admin');
  });
});

describe('parseTenantKeys', () => {
  it('reads tenant=key pairs and refuses a malformed one', () => {
    expect([...parseTenantKeys(' demo=k1 , acme=k=2 ')]).toEqual([
      ['demo', 'k1'],
      ['acme', 'k=2'],
    ]);
    expect(parseTenantKeys('').size).toBe(0);
    expect(() => parseTenantKeys('demo')).toThrow('expected tenant=key');
  });
});
