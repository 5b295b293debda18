import { CUSTOM_RULES, resolveConflict } from './conflicts';
import { blockingKeys, countryOfPhone, matchScore, nameSimilarity } from './duplicates';
import {
  applyTransform,
  defaultMapping,
  diffMappings,
  mapInbound,
  mapOutbound,
  parseMapping,
  toE164,
  validateMapping,
  validateValue,
} from './mapping';
import { suggestMappings } from './suggest';

describe('transforms', () => {
  it('trim, case, digits, enum maps, dates, split', () => {
    expect(applyTransform('trim', '  Ana   Lopez ')).toBe('Ana Lopez');
    expect(applyTransform('title', "o'brien-smith jr")).toBe("O'Brien-Smith Jr");
    expect(applyTransform('digits', '+62 (812) 3')).toBe('628123');
    expect(applyTransform({ op: 'enum', map: { gold: 'enterprise' } }, 'GOLD')).toBe('enterprise');
    expect(applyTransform({ op: 'enum', map: { gold: 'enterprise' }, otherwise: 'free' }, 'bronze')).toBe(
      'free',
    );
    expect(applyTransform({ op: 'date', from: 'dd/mm/yyyy' }, '4/3/2026')).toBe('2026-03-04');
    expect(applyTransform({ op: 'date', from: 'mm/dd/yyyy' }, '4/3/2026')).toBe('2026-04-03');
    expect(applyTransform({ op: 'date', from: 'epoch_s' }, '0')).toBe('1970-01-01');
    expect(applyTransform({ op: 'split', separator: '@', index: 1 }, 'a@b.co')).toBe('b.co');
    expect(applyTransform('empty_to_null', '  ')).toBeNull();
    expect(applyTransform('lower', null)).toBeNull();
  });

  it('E.164: separators, 00, national numbers with the default calling code; junk stays as given', () => {
    expect(toE164('0812-3456-789', '62')).toBe('+628123456789');
    expect(toE164('0044 20 7946 0958', null)).toBe('+442079460958');
    expect(toE164('+1 (415) 555-0100', '62')).toBe('+14155550100');
    expect(toE164('call me', '62')).toBe('call me');
    expect(toE164('123', '62')).toBe('123');
  });

  it('joins several fields on the way in and splits them on the way out', () => {
    const source = {
      field: ['firstName', 'lastName'],
      direction: 'both' as const,
      separator: ' ',
      transforms: ['trim' as const],
    };
    expect(mapInbound(source, { firstName: 'Ana', lastName: 'Maria Lopez' })).toBe('Ana Maria Lopez');
    expect(mapInbound(source, { other: 'x' })).toBeUndefined();
    expect(mapOutbound(source, 'Ana Maria Lopez')).toEqual({ firstName: 'Ana', lastName: 'Maria Lopez' });
  });
});

describe('validation', () => {
  const mapping = defaultMapping();
  it('required, e-mail, E.164 phone, allowed values, pattern', () => {
    expect(validateValue('name', mapping.fields['name']!, null)).toEqual(['name: required']);
    expect(validateValue('email', mapping.fields['email']!, 'x@')).toEqual([
      'email: "x@" is not an e-mail address',
    ]);
    expect(validateValue('phone', mapping.fields['phone']!, '0812')).toEqual([
      'phone: "0812" is not a phone number in E.164',
    ]);
    expect(validateValue('tier', mapping.fields['tier']!, 'gold')).toEqual([
      'tier: "gold" is not one of free, pro, enterprise',
    ]);
    expect(
      validateValue('code', { type: 'text', required: false, pattern: '^[A-Z]{3}$', sources: {} }, 'ab1'),
    ).toHaveLength(1);
  });

  it('a mapping is checked against each system’s schema and the registered custom rules', () => {
    const schemas = {
      netsuite: [{ name: 'companyName', type: 'string', label: 'Company Name' }],
      zendesk: [{ name: 'name', type: 'text', label: 'Name' }],
    };
    const m = parseMapping({
      fields: {
        name: {
          rule: 'custom:nope',
          sources: { netsuite: { field: 'companyName' }, zendesk: { field: 'full_name' } },
        },
      },
      duplicates: { autoMergeAbove: 0.5, reviewAbove: 0.8 },
    });
    expect(validateMapping(m, schemas, new Set(CUSTOM_RULES.keys()))).toEqual([
      'name.rule: no custom rule "nope" is registered',
      'name.sources.zendesk.field: zendesk has no field "full_name"',
      'duplicates.reviewAbove must not exceed duplicates.autoMergeAbove',
    ]);
    expect(() => parseMapping({ fields: { 'Bad Name': { sources: {} } } })).toThrow(
      'fields.Bad Name: Invalid key in record',
    );
  });

  it('diffs two versions field by field', () => {
    const a = defaultMapping();
    const b = structuredClone(a);
    b.fields['tier']!.rule = 'lww';
    delete b.fields['company'];
    const lines = diffMappings(a, b);
    expect(lines).toContain('~ fields.tier.rule: "priority" → "lww"');
    expect(lines.some((l) => l.startsWith('- fields.company:'))).toBe(true);
  });
});

describe('conflict rules', () => {
  const mapping = defaultMapping();
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  it('last write wins outside the skew tolerance, source priority inside it', () => {
    const ns = { value: 'a', source: 'netsuite' as const, modifiedAt: at(0) };
    const zd = { value: 'b', source: 'zendesk' as const, modifiedAt: at(10) };
    expect(resolveConflict('name', ns, zd, mapping).winner).toBe(zd);
    const close = { ...zd, modifiedAt: at(1) };
    const tie = resolveConflict('name', ns, close, mapping);
    expect(tie.winner).toBe(ns);
    expect(tie.explanation).toContain('within the 2000 ms clock-skew tolerance');
  });

  it('source priority per field, and custom rules with a fallback', () => {
    const ac = { value: 'enterprise', source: 'activecampaign' as const, modifiedAt: at(100) };
    const ns = { value: 'free', source: 'netsuite' as const, modifiedAt: at(0) };
    expect(resolveConflict('tier', ns, ac, mapping)).toMatchObject({ winner: ns, rule: 'priority' });
    const short = { value: 'Acme', source: 'zendesk' as const, modifiedAt: at(100) };
    const long = { value: 'Acme Holdings', source: 'activecampaign' as const, modifiedAt: at(0) };
    expect(resolveConflict('company', short, long, mapping)).toMatchObject({
      winner: long,
      rule: 'custom:longest',
    });
    const same = { value: 'Acmf', source: 'activecampaign' as const, modifiedAt: at(100) };
    const fallback = resolveConflict('company', { ...short, modifiedAt: at(0) }, same, mapping);
    expect(fallback.winner).toBe(same);
    expect(fallback.explanation).toContain('could not choose');
  });
});

describe('duplicates', () => {
  it('exact e-mail is certain; name with phone or company domain scores high; name alone does not', () => {
    const a = { customerId: 'a', name: 'PT Acme Indonesia', email: 'ana@acme.co.id', phone: '+62811' };
    expect(matchScore(a, { customerId: 'b', name: 'x', email: 'ANA@acme.co.id', phone: null }).score).toBe(1);
    expect(
      matchScore(a, { customerId: 'b', name: 'Acme Indonesia', email: null, phone: '+62811' }).score,
    ).toBe(1);
    const domain = matchScore(a, {
      customerId: 'b',
      name: 'Acme Indonesa',
      email: 'bob@acme.co.id',
      phone: null,
    });
    expect(domain.score).toBeGreaterThan(0.8);
    expect(domain.score).toBeLessThan(0.9);
    expect(
      matchScore(a, { customerId: 'b', name: 'Acme Indonesia', email: 'x@gmail.com', phone: null }).score,
    ).toBe(0.55);
    expect(nameSimilarity('Lopez Ana', 'Ana Lopez')).toBe(1);
    expect(blockingKeys(a)).toEqual(['e:ana@acme.co.id', 'p:+62811', 'd:acme.co.id', 'n:acme']);
  });

  it('enrichment: the country of a calling code', () => {
    expect(countryOfPhone('+6281234')).toBe('ID');
    expect(countryOfPhone('+14155550100')).toBe('US');
    expect(countryOfPhone('+9715000')).toBe('AE');
    expect(countryOfPhone('0812')).toBeNull();
  });
});

describe('mapping suggester', () => {
  it('pairs fields by name, label and synonym, each once, best first', () => {
    const zendesk = [
      { name: 'name', type: 'text', label: 'Name' },
      { name: 'email', type: 'text', label: 'Email' },
      { name: 'phone', type: 'text', label: 'Phone' },
      { name: 'user_fields.saldo_tier', type: 'dropdown', label: 'saldo tier' },
    ];
    const netsuite = [
      { name: 'companyName', type: 'string', label: 'Company Name' },
      { name: 'email', type: 'string', label: 'Email' },
      { name: 'phone', type: 'string', label: 'Phone' },
      { name: 'custentity_saldo_tier', type: 'string', label: 'Saldo Tier' },
      { name: 'lastModifiedDate', type: 'date', label: 'Last Modified' },
    ];
    expect(suggestMappings(zendesk, netsuite).map((s) => [s.from, s.to])).toEqual([
      ['email', 'email'],
      ['phone', 'phone'],
      ['user_fields.saldo_tier', 'custentity_saldo_tier'],
      ['name', 'companyName'],
    ]);
  });
});
