import { documentStatusQuery, verdictOf } from './document-status';

describe('ERP document verdicts', () => {
  it('maps NetSuite invoice and sales order statuses', () => {
    expect(verdictOf('invoice', 'D')).toBe('pending');
    expect(verdictOf('invoice', 'A')).toBe('confirmed');
    expect(verdictOf('invoice', 'V')).toBe('rejected');
    expect(verdictOf('invoice', 'E')).toBe('rejected');
    expect(verdictOf('sales_order', 'A')).toBe('pending');
    expect(verdictOf('sales_order', 'B')).toBe('confirmed');
    expect(verdictOf('sales_order', 'C')).toBe('rejected');
  });

  it('never guesses: unknown or missing statuses stay pending', () => {
    expect(verdictOf('invoice', 'Z')).toBe('pending');
    expect(verdictOf('sales_order', null)).toBe('pending');
  });

  it('builds the SuiteQL from checked ids only', () => {
    expect(documentStatusQuery(['INV-1', 'SO/2'])).toBe(
      "SELECT t.tranid AS tranid, t.type AS type, t.status AS status FROM transaction t WHERE t.type IN ('CustInvc', 'SalesOrd') AND t.tranid IN ('INV-1', 'SO/2')",
    );
    expect(() => documentStatusQuery(["x' OR '1'='1"])).toThrow(/bad document id/);
    expect(() => documentStatusQuery([])).toThrow();
  });
});
