import { interpolateDocument, interpolateString, InterpolationError } from './compose-interpolation';

describe("Compose's interpolation", () => {
  const env = { SET: 'value', EMPTY: '' };

  it('substitutes, defaults and escapes as compose-spec says', () => {
    expect(interpolateString('$SET ${SET} $$SET $$', env)).toBe('value value $SET $');
    expect(interpolateString('${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}', env)).toBe('d d  d');
    expect(interpolateString('${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${UNSET+alt}', env)).toBe('alt||alt|');
    expect(interpolateString('${UNSET:-${SET}-x}', env)).toBe('value-x');
    expect(interpolateString('${EMPTY?fine}', env)).toBe('');
  });

  it('fails on a required variable, naming it and where it is', () => {
    expect(() => interpolateString('${UNSET:?set UNSET}', env, 'services.a.environment.X')).toThrow(
      new InterpolationError('UNSET', 'services.a.environment.X', 'set UNSET'),
    );
    expect(() => interpolateString('${EMPTY:?no}', env)).toThrow(InterpolationError);
    expect(() => interpolateString('${UNSET?no}', env)).toThrow(InterpolationError);
  });

  it('walks values, never keys', () => {
    expect(interpolateDocument({ $SET: ['${SET}', 1, { k: '${UNSET:-d}' }] }, env)).toEqual({
      $SET: ['value', 1, { k: 'd' }],
    });
  });
});
