import { formatAmount, formatMajor, toMinorUnits } from './money';

describe('money for people', () => {
  it('shows minor units in major units by moving the point', () => {
    expect(formatMajor('12000', 2)).toBe('120.00');
    expect(formatMajor(5n, 2)).toBe('0.05');
    expect(formatMajor('-1050', 2)).toBe('-10.50');
    expect(formatMajor('15000', 0)).toBe('15000');
    expect(formatMajor('9223372036854775807', 2)).toBe('92233720368547758.07');
    expect(() => formatMajor('1.5', 2)).toThrow(RangeError);
  });

  it('writes every amount the same way', () => {
    expect(formatAmount('12000', 2, 'USD')).toBe('120.00 USD (12000 minor units)');
    expect(formatAmount(400n, 2, 'USD')).toBe('4.00 USD (400 minor units)');
    expect(formatAmount('15000', 0, 'IDR')).toBe('15000 IDR (15000 minor units)');
  });

  it('reads major units exactly and refuses what it would have to round', () => {
    expect(toMinorUnits('120.00', 2)).toBe(12000n);
    expect(toMinorUnits('120', 2)).toBe(12000n);
    expect(toMinorUnits('0.5', 2)).toBe(50n);
    expect(toMinorUnits('-3.07', 2)).toBe(-307n);
    expect(() => toMinorUnits('1.005', 2)).toThrow(/more than 2 decimals/);
    expect(() => toMinorUnits('1e3', 2)).toThrow(RangeError);
  });
});
