import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Per-tenant accounting configuration: which ERP records every ledger movement lands on. The one
 * place finance changes the mapping without a code change (a JSON file or an environment variable),
 * validated before the worker starts: a bad entry names its tenant and field.
 */
const erpId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a NetSuite internal id (letters, digits, _ or -)');
const minorAmount = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'expected a positive whole number of minor units as a string');

const productSchema = z.strictObject({
  /** The NetSuite item the usage of this product is recorded against (line column `custcol_saldo_item`). */
  item: erpId,
  /** Optional per-product revenue and cost accounts; default: the tenant's. */
  revenueAccount: erpId.optional(),
  costOfRevenueAccount: erpId.optional(),
});

export const tenantAccountingSchema = z.strictObject({
  subsidiary: erpId,
  department: erpId.optional(),
  accounts: z.strictObject({
    cashClearing: erpId,
    /** Customer prepayments (deferred revenue): the ERP side of every wallet balance. */
    customerPrepayment: erpId,
    revenue: erpId,
    costOfRevenue: erpId,
    payables: erpId,
    /** Bonus credit and migrated opening balances; needed only if the tenant uses them. */
    promotions: erpId.optional(),
    openingBalances: erpId.optional(),
    /** Income from prepaid credit that expired unused (credit grants); default: the revenue account. */
    breakage: erpId.optional(),
  }),
  /** NetSuite currency internal id per ledger asset code; an asset not listed cannot be synced. */
  currencies: z
    .record(z.string().regex(/^[A-Z]{3,10}$/, 'expected an asset code'), erpId)
    .refine((m) => Object.keys(m).length > 0, 'list at least one asset'),
  products: z.record(z.string().min(1).max(128), productSchema).default({}),
  /** Item for a usage whose product code is not listed; absent: such usage is refused to the dead letters. */
  defaultItem: erpId.optional(),
  usageSummary: z
    .strictObject({
      /** Length of one summary period in minutes; must divide a day (60 = hourly, 1440 = daily). */
      periodMinutes: z
        .number()
        .int()
        .min(1)
        .max(1440)
        .refine((m) => 1440 % m === 0, 'must divide 1440 (a day)')
        .default(60),
      /** A single usage at or above this amount (minor units, per asset) gets a journal entry of its own. */
      singleEntryThresholdMinor: z.record(z.string(), minorAmount).default({}),
    })
    .default({ periodMinutes: 60, singleEntryThresholdMinor: {} }),
  crm: z
    .strictObject({
      zendesk: z.boolean().default(false),
      activeCampaign: z.boolean().default(false),
      /** ActiveCampaign identifies contacts by e-mail: `{ownerId}` is replaced by the wallet's owner id. */
      contactEmailTemplate: z.string().includes('{ownerId}').default('{ownerId}@customers.invalid'),
    })
    .default({ zendesk: false, activeCampaign: false, contactEmailTemplate: '{ownerId}@customers.invalid' }),
});

export const tenantsConfigSchema = z
  .record(z.string().min(1).max(128), tenantAccountingSchema)
  .refine((m) => Object.keys(m).length > 0, 'configure at least one tenant');

export type TenantAccounting = z.infer<typeof tenantAccountingSchema>;
export type TenantsConfig = z.infer<typeof tenantsConfigSchema>;

export class TenantConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    source: string,
  ) {
    super(
      `Invalid tenant accounting configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'TenantConfigError';
  }
}

export function parseTenantsConfig(raw: unknown, source: string): TenantsConfig {
  const result = tenantsConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new TenantConfigError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    source,
  );
}

/** ERP_SYNC_TENANTS_JSON (inline JSON) wins over ERP_SYNC_TENANTS_FILE (a path to a JSON file). */
export function loadTenantsConfig(options: { json?: string; file?: string }): TenantsConfig {
  if (options.json)
    return parseTenantsConfig(parseJson(options.json, 'ERP_SYNC_TENANTS_JSON'), 'ERP_SYNC_TENANTS_JSON');
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new TenantConfigError(
        [`cannot read ${options.file}: ${(error as Error).message}`],
        'ERP_SYNC_TENANTS_FILE',
      );
    }
    return parseTenantsConfig(
      parseJson(text, `ERP_SYNC_TENANTS_FILE ${options.file}`),
      `ERP_SYNC_TENANTS_FILE ${options.file}`,
    );
  }
  throw new TenantConfigError(['set ERP_SYNC_TENANTS_FILE or ERP_SYNC_TENANTS_JSON'], 'environment');
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TenantConfigError([`not valid JSON: ${(error as Error).message}`], source);
  }
}
