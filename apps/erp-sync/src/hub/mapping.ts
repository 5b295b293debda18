import { z } from 'zod';

/**
 * The hub's declarative field mapping per tenant (stored as JSON in hub.mapping_versions): for each
 * hub field, where it comes from and goes to in each system, how a value is transformed on the way
 * in, how it is validated, and which conflict rule decides between systems. Pure: no I/O.
 */
export const HUB_CONNECTORS = ['netsuite', 'zendesk', 'activecampaign'] as const;
export type HubConnector = (typeof HUB_CONNECTORS)[number];

const NAMED_TRANSFORMS = ['trim', 'lower', 'upper', 'title', 'digits', 'empty_to_null', 'e164'] as const;

const transformSchema = z.union([
  z.enum(NAMED_TRANSFORMS),
  z.object({ op: z.literal('e164'), defaultCountry: z.string().regex(/^[1-9]\d{0,2}$/, 'a calling code') }),
  z.object({
    op: z.literal('enum'),
    map: z.record(z.string(), z.string()),
    /** A value the map does not know: kept (default) or replaced by this. */
    otherwise: z.string().optional(),
  }),
  z.object({
    op: z.literal('date'),
    from: z.enum(['iso', 'yyyy-mm-dd', 'dd/mm/yyyy', 'mm/dd/yyyy', 'epoch_s']),
  }),
  z.object({ op: z.literal('split'), separator: z.string().min(1), index: z.number().int().min(0).max(20) }),
]);
export type Transform = z.infer<typeof transformSchema>;

const sourceSchema = z.object({
  /** The system's field (as its describeSchema names it); several are joined on the way in and split on the way out. */
  field: z.union([z.string().min(1), z.array(z.string().min(1)).min(2).max(5)]),
  direction: z.enum(['in', 'out', 'both']).default('both'),
  /** Separator of a joined field (default one space). */
  separator: z.string().default(' '),
  transforms: z.array(transformSchema).max(10).default([]),
});
export type SourceMapping = z.infer<typeof sourceSchema>;

export const BUILTIN_RULES = ['lww', 'priority'] as const;
const ruleSchema = z.union([
  z.enum(BUILTIN_RULES),
  z.string().regex(/^custom:[a-z_]{1,40}$/, 'custom:<name>'),
]);
export type RuleName = z.infer<typeof ruleSchema>;

const fieldSchema = z.object({
  label: z.string().optional(),
  type: z.enum(['text', 'email', 'phone', 'date', 'enum']).default('text'),
  required: z.boolean().default(false),
  pattern: z.string().max(500).optional(),
  allowed: z.array(z.string()).max(500).optional(),
  /** Field-level rule; absent: the mapping's default rule. */
  rule: ruleSchema.optional(),
  sources: z.partialRecord(z.enum(HUB_CONNECTORS), sourceSchema),
});
export type HubFieldMapping = z.infer<typeof fieldSchema>;

/** Which of a shared vendor account's records are this tenant's (absent: all of them). */
const scopeSchema = z.object({ field: z.string().min(1), equals: z.string().min(1) });

export const mappingSchema = z.object({
  /**
   * Per system, the field and value that mark the tenant's records when several tenants share one
   * vendor account (e.g. NetSuite `subsidiary`, a Zendesk user field `saldo_tenant`).
   */
  scope: z.partialRecord(z.enum(HUB_CONNECTORS), scopeSchema).default({}),
  fields: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'hub field names are snake_case'), fieldSchema),
  conflicts: z
    .object({
      rule: ruleSchema.default('lww'),
      /** Two modification times closer than this are a tie (clocks differ): source priority breaks it. */
      skewToleranceMs: z.number().int().min(0).max(3_600_000).default(2_000),
      priority: z.array(z.enum(HUB_CONNECTORS)).min(1).default(['netsuite', 'zendesk', 'activecampaign']),
    })
    .prefault({}),
  duplicates: z
    .object({
      /** At or above: merged without a person. */
      autoMergeAbove: z.number().min(0).max(1).default(0.9),
      /** At or above (and below the auto threshold): queued for review. */
      reviewAbove: z.number().min(0).max(1).default(0.6),
    })
    .prefault({}),
  enrichment: z
    .object({ countryFromPhone: z.boolean().default(true), domainFromEmail: z.boolean().default(true) })
    .prefault({}),
});
export type HubMapping = z.infer<typeof mappingSchema>;

export interface SchemaField {
  name: string;
  type: string;
  label: string;
}

export class MappingError extends Error {
  constructor(readonly problems: string[]) {
    super(`mapping refused: ${problems.join('; ')}`);
  }
}

/** Parses a mapping document; a malformed one is refused with every problem named. */
export function parseMapping(input: unknown): HubMapping {
  const result = mappingSchema.safeParse(input);
  if (!result.success)
    throw new MappingError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  return result.data;
}

/**
 * Checks a mapping against each system's describeSchema (fields exist), its rules (regex compiles,
 * custom rule registered, thresholds ordered) and returns every problem (empty: valid).
 */
export function validateMapping(
  mapping: HubMapping,
  schemas: Partial<Record<HubConnector, readonly SchemaField[]>>,
  customRules: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const [name, field] of Object.entries(mapping.fields)) {
    if (field.pattern !== undefined) {
      try {
        new RegExp(field.pattern);
      } catch (error) {
        problems.push(`${name}.pattern: ${(error as Error).message}`);
      }
    }
    if (field.type === 'enum' && !field.allowed?.length)
      problems.push(`${name}: an enum field lists its allowed values`);
    if (field.rule?.startsWith('custom:') && !customRules.has(field.rule.slice(7)))
      problems.push(`${name}.rule: no custom rule "${field.rule.slice(7)}" is registered`);
    if (Object.keys(field.sources).length === 0) problems.push(`${name}: maps no system`);
    for (const [connector, source] of Object.entries(field.sources) as Array<[HubConnector, SourceMapping]>) {
      const schema = schemas[connector];
      if (!schema) {
        problems.push(`${name}.sources.${connector}: no schema known for ${connector}`);
        continue;
      }
      for (const f of sourceFields(source)) {
        if (!schema.some((s) => s.name === f))
          problems.push(`${name}.sources.${connector}.field: ${connector} has no field "${f}"`);
      }
    }
  }
  for (const [connector, scope] of Object.entries(mapping.scope) as Array<
    [HubConnector, { field: string }]
  >) {
    const schema = schemas[connector];
    if (schema && !schema.some((s) => s.name === scope.field))
      problems.push(`scope.${connector}.field: ${connector} has no field "${scope.field}"`);
  }
  const rule = mapping.conflicts.rule;
  if (rule.startsWith('custom:') && !customRules.has(rule.slice(7)))
    problems.push(`conflicts.rule: no custom rule "${rule.slice(7)}" is registered`);
  if (mapping.duplicates.reviewAbove > mapping.duplicates.autoMergeAbove)
    problems.push('duplicates.reviewAbove must not exceed duplicates.autoMergeAbove');
  return problems;
}

export function sourceFields(source: SourceMapping): string[] {
  return Array.isArray(source.field) ? source.field : [source.field];
}

/** The hub fields a system feeds (direction in or both), with their mapping. */
export function inboundFields(mapping: HubMapping, connector: HubConnector): Array<[string, SourceMapping]> {
  return Object.entries(mapping.fields).flatMap(([name, field]) => {
    const source = field.sources[connector];
    return source && source.direction !== 'out' ? [[name, source] as [string, SourceMapping]] : [];
  });
}

/** The hub fields written back to a system (direction out or both). */
export function outboundFields(mapping: HubMapping, connector: HubConnector): Array<[string, SourceMapping]> {
  return Object.entries(mapping.fields).flatMap(([name, field]) => {
    const source = field.sources[connector];
    return source && source.direction !== 'in' ? [[name, source] as [string, SourceMapping]] : [];
  });
}

/** A system's value(s) → the hub value: joined when several fields, then every transform in order. */
export function mapInbound(
  source: SourceMapping,
  raw: Readonly<Record<string, unknown>>,
): string | null | undefined {
  const fields = sourceFields(source);
  if (fields.every((f) => !(f in raw))) return undefined; // the record does not carry it
  const parts = fields.map((f) => textOf(raw[f]));
  let value: string | null = Array.isArray(source.field)
    ? parts.filter((p): p is string => p !== null && p !== '').join(source.separator) || null
    : parts[0]!;
  for (const t of source.transforms) value = applyTransform(t, value);
  return value;
}

/** The hub value → what a system's field(s) get: split over several fields, else as is. */
export function mapOutbound(source: SourceMapping, value: string | null): Record<string, string | null> {
  if (!Array.isArray(source.field)) return { [source.field]: value };
  const parts = (value ?? '').split(source.separator);
  const fields = source.field;
  // The last field takes the rest ("Ana Maria Lopez" → first "Ana", last "Maria Lopez").
  return Object.fromEntries(
    fields.map((f, i) => [
      f,
      (i === fields.length - 1 ? parts.slice(i).join(source.separator) : (parts[i] ?? '')) || null,
    ]),
  );
}

function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

export function applyTransform(t: Transform, value: string | null): string | null {
  if (value === null) return null;
  if (typeof t === 'string') {
    switch (t) {
      case 'trim':
        return value.trim().replace(/\s+/g, ' ');
      case 'lower':
        return value.toLowerCase();
      case 'upper':
        return value.toUpperCase();
      case 'title':
        return value
          .toLowerCase()
          .replace(/(^|[\s'-])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());
      case 'digits':
        return value.replace(/\D+/g, '');
      case 'empty_to_null':
        return value.trim() === '' ? null : value;
      case 'e164':
        return toE164(value, null);
    }
  }
  switch (t.op) {
    case 'e164':
      return toE164(value, t.defaultCountry);
    case 'enum':
      return t.map[value] ?? t.map[value.toLowerCase()] ?? t.otherwise ?? value;
    case 'date':
      return toIsoDate(value, t.from);
    case 'split':
      return value.split(t.separator)[t.index] ?? null;
  }
}

/**
 * A phone number in E.164 (`+6281234567`): separators dropped, `00` → `+`, a national number
 * (leading 0) gets the default calling code. Anything that does not come out as + and 7–15 digits
 * is returned as given, so validation can refuse it with the original text.
 */
export function toE164(value: string, defaultCountry: string | null): string {
  const compact = value.replace(/[\s().-]/g, '');
  let e164: string | null = null;
  if (/^\+\d+$/.test(compact)) e164 = compact;
  else if (/^00\d+$/.test(compact)) e164 = `+${compact.slice(2)}`;
  else if (/^0\d+$/.test(compact) && defaultCountry) e164 = `+${defaultCountry}${compact.slice(1)}`;
  else if (/^\d+$/.test(compact) && defaultCountry && !compact.startsWith(defaultCountry))
    e164 = `+${defaultCountry}${compact}`;
  else if (/^\d+$/.test(compact)) e164 = `+${compact}`;
  return e164 && /^\+[1-9]\d{6,14}$/.test(e164) ? e164 : value;
}

function toIsoDate(
  value: string,
  from: 'iso' | 'yyyy-mm-dd' | 'dd/mm/yyyy' | 'mm/dd/yyyy' | 'epoch_s',
): string {
  const pad = (n: string) => n.padStart(2, '0');
  let m: RegExpExecArray | null;
  switch (from) {
    case 'iso':
      return /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : value;
    case 'yyyy-mm-dd':
      return value;
    case 'dd/mm/yyyy':
      m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
      return m ? `${m[3]}-${pad(m[2]!)}-${pad(m[1]!)}` : value;
    case 'mm/dd/yyyy':
      m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
      return m ? `${m[3]}-${pad(m[1]!)}-${pad(m[2]!)}` : value;
    case 'epoch_s':
      return /^\d+$/.test(value) ? new Date(Number(value) * 1000).toISOString().slice(0, 10) : value;
  }
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Every rule a hub value breaks (empty: valid). A null value only breaks `required`. */
export function validateValue(name: string, field: HubFieldMapping, value: string | null): string[] {
  if (value === null || value === '') return field.required ? [`${name}: required`] : [];
  const problems: string[] = [];
  if (field.type === 'email' && !EMAIL.test(value))
    problems.push(`${name}: "${value}" is not an e-mail address`);
  if (field.type === 'phone' && !/^\+[1-9]\d{6,14}$/.test(value))
    problems.push(`${name}: "${value}" is not a phone number in E.164`);
  if (field.type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value))
    problems.push(`${name}: "${value}" is not a date (YYYY-MM-DD)`);
  if (field.allowed && !field.allowed.includes(value))
    problems.push(`${name}: "${value}" is not one of ${field.allowed.join(', ')}`);
  if (field.pattern && !new RegExp(field.pattern).test(value))
    problems.push(`${name}: "${value}" does not match ${field.pattern}`);
  return problems;
}

/** Structural diff of two mapping versions, one line per change (for `hub mappings diff`). */
export function diffMappings(a: HubMapping, b: HubMapping): string[] {
  const lines: string[] = [];
  const walk = (path: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) === JSON.stringify(y)) return;
    const objects = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (objects(x) && objects(y)) {
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of [...keys].sort())
        walk(path ? `${path}.${k}` : k, (x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]);
      return;
    }
    if (x === undefined) lines.push(`+ ${path}: ${JSON.stringify(y)}`);
    else if (y === undefined) lines.push(`- ${path}: ${JSON.stringify(x)}`);
    else lines.push(`~ ${path}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
  };
  walk('', a, b);
  return lines;
}

/** The mapping a tenant starts with: the three systems' customer fields as the stand-ins name them. */
export function defaultMapping(): HubMapping {
  return parseMapping({
    fields: {
      name: {
        label: 'Name',
        type: 'text',
        required: true,
        sources: {
          netsuite: { field: 'companyName', transforms: ['trim'] },
          zendesk: { field: 'name', transforms: ['trim'] },
          activecampaign: { field: ['firstName', 'lastName'], transforms: ['trim'] },
        },
      },
      email: {
        label: 'E-mail',
        type: 'email',
        sources: {
          netsuite: { field: 'email', transforms: ['trim', 'lower', 'empty_to_null'] },
          zendesk: { field: 'email', transforms: ['trim', 'lower', 'empty_to_null'] },
          activecampaign: { field: 'email', direction: 'in', transforms: ['trim', 'lower', 'empty_to_null'] },
        },
      },
      phone: {
        label: 'Phone',
        type: 'phone',
        sources: {
          netsuite: { field: 'phone', transforms: ['empty_to_null', { op: 'e164', defaultCountry: '62' }] },
          zendesk: { field: 'phone', transforms: ['empty_to_null', { op: 'e164', defaultCountry: '62' }] },
          activecampaign: {
            field: 'phone',
            transforms: ['empty_to_null', { op: 'e164', defaultCountry: '62' }],
          },
        },
      },
      tier: {
        label: 'Tier',
        type: 'enum',
        allowed: ['free', 'pro', 'enterprise'],
        rule: 'priority',
        sources: {
          netsuite: { field: 'custentity_saldo_tier', transforms: ['trim', 'lower', 'empty_to_null'] },
          zendesk: { field: 'user_fields.saldo_tier', transforms: ['trim', 'lower', 'empty_to_null'] },
          activecampaign: { field: 'fields.4', transforms: ['trim', 'lower', 'empty_to_null'] },
        },
      },
      company: {
        label: 'Company',
        type: 'text',
        rule: 'custom:longest',
        sources: {
          zendesk: { field: 'user_fields.company', transforms: ['trim', 'empty_to_null'] },
          activecampaign: { field: 'fields.5', transforms: ['trim', 'empty_to_null'] },
        },
      },
    },
  });
}
