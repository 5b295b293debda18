import { CUSTOM_RULES } from './conflicts';
import type { ConnectorReport, HubEngine } from './hub-engine';
import type { HubStore, MappingVersion } from './hub-store';
import {
  diffMappings,
  inboundFields,
  mapInbound,
  MappingError,
  parseMapping,
  validateMapping,
  validateValue,
  type HubConnector,
  type HubMapping,
  type SchemaField,
} from './mapping';
import type { CustomerSource, VendorCustomer } from './sources';
import { suggestMappings, type Suggestion } from './suggest';

/**
 * The hub's operator API: what `saldo hub …` and the console call. Every method is one use case;
 * errors are `HubError` (a code and a sentence) or `MappingError` (every problem named).
 */
export class HubError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'INVALID' | 'BUSY',
    message: string,
  ) {
    super(message);
  }
}

export interface PreviewResult {
  connector: HubConnector;
  externalId: string;
  customerId: string | null;
  /** The record as last read from the system. */
  record: Record<string, string | null>;
  /** The hub's current values of the fields this system maps. */
  before: Record<string, string | null>;
  /** What this mapping makes of the record. */
  after: Record<string, string | null>;
  problems: string[];
}

export class HubService {
  constructor(
    readonly store: HubStore,
    readonly engine: HubEngine,
    private readonly sources: Partial<Record<HubConnector, CustomerSource>>,
  ) {}

  status(tenantId?: string) {
    return this.store.status(tenantId);
  }

  async schemas(): Promise<Partial<Record<HubConnector, SchemaField[]>>> {
    const out: Partial<Record<HubConnector, SchemaField[]>> = {};
    for (const [connector, source] of Object.entries(this.sources) as Array<[HubConnector, CustomerSource]>)
      out[connector] = await source.describe();
    return out;
  }

  listMappings(tenantId: string): Promise<MappingVersion[]> {
    return this.store.mappingVersions(tenantId);
  }

  async showMapping(tenantId: string, version?: number): Promise<MappingVersion> {
    const found = await this.store.mappingVersion(tenantId, version);
    if (!found)
      throw new HubError(
        'NOT_FOUND',
        `tenant ${tenantId} has no mapping${version ? ` version ${version}` : ''}`,
      );
    return found;
  }

  async diff(tenantId: string, from: number, to: number): Promise<string[]> {
    const [a, b] = await Promise.all([this.showMapping(tenantId, from), this.showMapping(tenantId, to)]);
    return diffMappings(a.mapping, b.mapping);
  }

  /** Validates (shape, each system's describeSchema, rules) and stores a new version. */
  async saveMapping(
    tenantId: string,
    document: unknown,
    author: string,
    comment: string | null,
    restoredFrom: number | null = null,
  ): Promise<{ version: number; mapping: HubMapping }> {
    const mapping = parseMapping(document);
    const problems = validateMapping(mapping, await this.schemas(), new Set(CUSTOM_RULES.keys()));
    if (problems.length) throw new MappingError(problems);
    const version = await this.store.saveMapping(tenantId, mapping, author, comment, restoredFrom);
    return { version, mapping };
  }

  /** A new version with the content of an old one (validated against today's schemas). */
  async restore(tenantId: string, version: number, author: string): Promise<{ version: number }> {
    const old = await this.showMapping(tenantId, version);
    const saved = await this.saveMapping(
      tenantId,
      old.mapping,
      author,
      `restore of version ${version}`,
      version,
    );
    return { version: saved.version };
  }

  /**
   * A real record (as last read from the system) before and after a mapping: the active version,
   * or a draft document not saved yet.
   */
  async preview(
    tenantId: string,
    connector: HubConnector,
    externalId: string,
    draft?: unknown,
  ): Promise<PreviewResult> {
    const mapping = draft === undefined ? (await this.showMapping(tenantId)).mapping : parseMapping(draft);
    const state = await this.store.loadTenant(tenantId);
    const link = state.links.get(`${connector}\u0000${externalId}`);
    if (!link?.raw)
      throw new HubError('NOT_FOUND', `no ${connector} record ${externalId} has been read for ${tenantId}`);
    const values = state.values.get(link.customerId) ?? new Map();
    const before: Record<string, string | null> = {};
    const after: Record<string, string | null> = {};
    const problems: string[] = [];
    for (const [hub, source] of inboundFields(mapping, connector)) {
      before[hub] = values.get(hub)?.value ?? null;
      const value = mapInbound(source, link.raw);
      if (value === undefined) continue;
      after[hub] = value;
      problems.push(...validateValue(hub, mapping.fields[hub]!, value));
    }
    return { connector, externalId, customerId: link.customerId, record: link.raw, before, after, problems };
  }

  /** Suggested field pairs between a system's schema and the hub's fields (or another system's schema). */
  async suggest(tenantId: string, connector: HubConnector, to: HubConnector | 'hub'): Promise<Suggestion[]> {
    const schemas = await this.schemas();
    const from = schemas[connector];
    if (!from) throw new HubError('NOT_FOUND', `connector ${connector} is not enabled`);
    let target: SchemaField[];
    if (to === 'hub') {
      const active = await this.store.mappingVersion(tenantId);
      const fields = active?.mapping.fields ?? {};
      target = Object.entries(fields).map(([name, f]) => ({ name, type: f.type, label: f.label ?? name }));
    } else {
      target = schemas[to] ?? [];
    }
    return suggestMappings(from, target);
  }

  conflicts(tenantId: string, customerId?: string, limit?: number) {
    return this.store.decisions(tenantId, customerId, limit);
  }

  customer(tenantId: string, customerId: string) {
    return this.store.customer(tenantId, customerId);
  }

  reviews(tenantId: string | null) {
    return this.store.reviews(tenantId);
  }

  async reviewMerge(id: string, by: string): Promise<{ survivor: string; merged: string }> {
    const review = await this.store.review(id);
    if (!review || review.state !== 'open') throw new HubError('NOT_FOUND', `no open review ${id}`);
    const result = await this.engine.mergeCustomers(
      review.tenantId,
      review.customerA,
      review.customerB,
      by,
      review.score,
      review.reasons,
    );
    await this.store.decideReview(id, 'merged', by);
    return result!;
  }

  async reviewSplit(id: string, by: string): Promise<void> {
    const decided = await this.store.decideReview(id, 'split', by);
    if (!decided) throw new HubError('NOT_FOUND', `no open review ${id}`);
  }

  quarantine(tenantId: string | null) {
    return this.store.quarantine(tenantId);
  }

  /** Runs a quarantined record through the current mapping again (e.g. after a mapping or rule fix). */
  async quarantineRetry(id: string): Promise<{ passed: boolean }> {
    const row = await this.store.releaseQuarantine(id);
    if (!row) throw new HubError('NOT_FOUND', `no open quarantined record ${id}`);
    const stored = row.record as {
      key?: string | null;
      modifiedAt?: string;
      raw?: Record<string, string | null>;
    };
    if (!stored.raw)
      throw new HubError('INVALID', `quarantined record ${id} is a refused write: run a sync instead`);
    const record: VendorCustomer = {
      externalId: row.externalId,
      key: stored.key ?? null,
      modifiedAt: new Date(stored.modifiedAt ?? row.createdAt),
      raw: stored.raw,
    };
    const result = await this.engine.retryStored(row.tenantId, row.connector as HubConnector, [record]);
    return { passed: result.passed === 1 };
  }

  async syncNow(tenantId: string, connectors?: HubConnector[]): Promise<ConnectorReport[]> {
    const reports = await this.engine.run(tenantId, connectors);
    if (!reports)
      throw new HubError('BUSY', `a hub run of tenant ${tenantId} is in progress; try again in a moment`);
    return reports;
  }

  paused(tenantId?: string) {
    return this.store.paused(tenantId);
  }
}
