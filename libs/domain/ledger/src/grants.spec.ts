import { allocateGrants, isGrantApplicable, type GrantTerms } from './grants';

const NOW = new Date('2026-06-15T12:00:00Z');
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);

function grant(id: string, remaining: bigint, terms: Partial<GrantTerms> = {}): GrantTerms {
  return {
    grantId: id,
    priority: 50,
    effectiveAt: day(-30),
    expiresAt: null,
    productCodes: [],
    createdAt: day(-30),
    remaining,
    ...terms,
  };
}

describe('allocateGrants', () => {
  it('draws by priority first, whatever the expiry or age', () => {
    const result = allocateGrants(
      [grant('late-prio', 100n, { priority: 60, expiresAt: day(1) }), grant('first', 30n, { priority: 10 })],
      50n,
      '',
      NOW,
    );
    expect(result).toEqual({
      allocations: [
        { grantId: 'first', amount: 30n },
        { grantId: 'late-prio', amount: 20n },
      ],
      shortfall: 0n,
    });
  });

  it('then the soonest expiry (never-expiring last), then the oldest', () => {
    const result = allocateGrants(
      [
        grant('never', 10n, { createdAt: day(-90) }),
        grant('later', 10n, { expiresAt: day(20) }),
        grant('sooner', 10n, { expiresAt: day(5) }),
        grant('old', 10n, { expiresAt: day(20), createdAt: day(-60) }),
      ],
      35n,
      '',
      NOW,
    );
    expect(result.allocations.map((a) => [a.grantId, a.amount])).toEqual([
      ['sooner', 10n],
      ['old', 10n],
      ['later', 10n],
      ['never', 5n],
    ]);
  });

  it('skips expired, not yet effective and inapplicable grants, and reports the shortfall', () => {
    const grants = [
      grant('expired', 100n, { expiresAt: NOW }),
      grant('future', 100n, { effectiveAt: day(1) }),
      grant('other-product', 100n, { productCodes: ['kyc'] }),
      grant('esign', 40n, { productCodes: ['esign', 'kyc'] }),
    ];
    expect(allocateGrants(grants, 70n, 'esign', NOW)).toEqual({
      allocations: [{ grantId: 'esign', amount: 40n }],
      shortfall: 30n,
    });
    // No product named: only grants without a product list pay.
    expect(allocateGrants(grants, 1n, '', NOW).shortfall).toBe(1n);
  });

  it('never takes more than a grant holds, and takes nothing from an empty one', () => {
    const result = allocateGrants([grant('empty', 0n), grant('a', 5n)], 5n, '', NOW);
    expect(result.allocations).toEqual([{ grantId: 'a', amount: 5n }]);
  });

  it('refuses a non-positive amount', () => {
    expect(() => allocateGrants([], 0n, '', NOW)).toThrow(RangeError);
  });
});

describe('isGrantApplicable', () => {
  it('is in force from effective_at up to (not including) expires_at', () => {
    expect(isGrantApplicable(grant('g', 1n, { effectiveAt: NOW }), '', NOW)).toBe(true);
    expect(isGrantApplicable(grant('g', 1n, { expiresAt: day(0) }), '', NOW)).toBe(false);
  });
});
