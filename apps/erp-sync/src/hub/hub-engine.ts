import type { Logger } from '@saldo/logging';
import { resolveConflict, type Candidate, type Source } from './conflicts';
import { blockingKeys, companyDomain, countryOfPhone, matchScore, type Identity } from './duplicates';
import {
  emptyChanges,
  linkKey,
  type FieldValue,
  type HubChanges,
  type HubStore,
  type LinkState,
  type TenantState,
} from './hub-store';
import {
  inboundFields,
  mapInbound,
  mapOutbound,
  outboundFields,
  sourceFields,
  validateValue,
  type HubConnector,
  type HubMapping,
  type SchemaField,
} from './mapping';
import type { CustomerSource, CustomerWrite, VendorCustomer } from './sources';

/**
 * The hub-and-spoke engine. A run of one tenant (under its run lock: one at a time across every
 * worker) keeps the tenant's customers, field values and links in memory, and per connector:
 * checks the schema (drift pauses only the affected fields), reads changes since the durable
 * cursor page by page, maps and validates each record (invalid ones are quarantined and write
 * nothing), identifies its customer (link, owner id, duplicates), resolves each changed field
 * against the hub value under the configured rule (every cross-system decision audited), and
 * commits the page with its cursor. Then it writes merged values back to each system that takes
 * them, and records what it wrote so the echo is recognised when it comes back.
 */
export interface EngineOptions {
  pageSize: number;
  /** Stop a run's reading after this many pages per connector (the next run goes on). */
  maxPagesPerRun: number;
}

export interface ConnectorReport {
  connector: HubConnector;
  read: number;
  /** Records of other tenants (the mapping's scope) skipped. */
  outOfScope: number;
  changedFields: number;
  echoes: number;
  quarantined: number;
  decisions: number;
  created: number;
  autoMerged: number;
  queuedForReview: number;
  paused: string[];
  written: number;
  writeFailures: number;
  /** Time spent reading and resolving this system's changes (records/s = read / readMs). */
  readMs: number;
  error?: string;
}

const ENRICHED = { country: 'country', domain: 'company_domain' } as const;

export class HubEngine {
  constructor(
    private readonly store: HubStore,
    private readonly sources: Partial<Record<HubConnector, CustomerSource>>,
    private readonly options: EngineOptions,
    private readonly logger: Logger,
  ) {}

  connectors(): HubConnector[] {
    return (['netsuite', 'zendesk', 'activecampaign'] as const).filter((c) => this.sources[c]);
  }

  /** One run: read every given connector, then write back. Null when another worker runs this tenant. */
  async run(
    tenantId: string,
    connectors: readonly HubConnector[] = this.connectors(),
    options: { writeBack?: boolean } = {},
  ): Promise<ConnectorReport[] | null> {
    const outcome = await this.store.withTenantLock(tenantId, async () => {
      const active = await this.store.mappingVersion(tenantId);
      if (!active) throw new Error(`tenant ${tenantId} has no hub mapping (saldo hub mappings …)`);
      const run = new TenantRun(
        this.store,
        tenantId,
        active.mapping,
        await this.store.loadTenant(tenantId),
        this.logger,
      );
      const reports: ConnectorReport[] = [];
      for (const connector of connectors) {
        const source = this.sources[connector];
        if (!source) continue;
        const report = run.report(connector);
        reports.push(report);
        try {
          const paused = await this.checkSchema(
            tenantId,
            connector,
            source,
            active.mapping,
            active.createdAt,
          );
          report.paused = [...paused.keys()];
          const started = Date.now();
          await run.read(source, paused, this.options);
          report.readMs = Date.now() - started;
        } catch (error) {
          report.error = (error as Error).message;
          await this.store.noteRunError(tenantId, connector, report.error);
          this.logger.warn(
            { err: error, tenantId, connector },
            'hub read failed; the cursor stays where it was',
          );
        }
      }
      if (options.writeBack !== false) {
        for (const connector of connectors) {
          const source = this.sources[connector];
          const report = reports.find((r) => r.connector === connector);
          if (!source || !report || report.error) continue;
          try {
            await run.writeBack(source, new Set(report.paused));
          } catch (error) {
            report.error = (error as Error).message;
            await this.store.noteRunError(tenantId, connector, report.error);
          }
        }
      }
      return reports;
    });
    return outcome.ran ? outcome.result : null;
  }

  /** The schema step alone (a job of its own): snapshot, drift, paused fields. Null when the tenant is busy. */
  async schemaStep(tenantId: string, connector: HubConnector): Promise<{ paused: string[] } | null> {
    const source = this.sources[connector];
    if (!source) return { paused: [] };
    const outcome = await this.store.withTenantLock(tenantId, async () => {
      const active = await this.store.mappingVersion(tenantId);
      if (!active) throw new Error(`tenant ${tenantId} has no hub mapping`);
      const paused = await this.checkSchema(tenantId, connector, source, active.mapping, active.createdAt);
      return { paused: [...paused.keys()] };
    });
    return outcome.ran ? outcome.result : null;
  }

  /** The write-back step alone (a job of its own), with the paused fields the schema step recorded. */
  async writeBackOnly(
    tenantId: string,
    connectors: readonly HubConnector[],
  ): Promise<ConnectorReport[] | null> {
    const outcome = await this.store.withTenantLock(tenantId, async () => {
      const active = await this.store.mappingVersion(tenantId);
      if (!active) throw new Error(`tenant ${tenantId} has no hub mapping`);
      const run = new TenantRun(
        this.store,
        tenantId,
        active.mapping,
        await this.store.loadTenant(tenantId),
        this.logger,
      );
      const paused = await this.store.paused(tenantId);
      const reports: ConnectorReport[] = [];
      for (const connector of connectors) {
        const source = this.sources[connector];
        if (!source) continue;
        const report = run.report(connector);
        reports.push(report);
        await run.writeBack(
          source,
          new Set(paused.filter((p) => p.connector === connector).map((p) => p.hubField)),
        );
      }
      return reports;
    });
    return outcome.ran ? outcome.result : null;
  }

  /** An operator's merge (review queue): `merged` folds into `survivor` under the conflict rules. */
  async mergeCustomers(
    tenantId: string,
    a: string,
    b: string,
    by: string,
    score: number,
    reasons: string[],
  ): Promise<{ survivor: string; merged: string } | null> {
    const outcome = await this.store.withTenantLock(tenantId, async () => {
      const active = await this.store.mappingVersion(tenantId);
      if (!active) throw new Error(`tenant ${tenantId} has no hub mapping`);
      const run = new TenantRun(
        this.store,
        tenantId,
        active.mapping,
        await this.store.loadTenant(tenantId),
        this.logger,
      );
      // Survivorship: a customer keyed by a wallet owner id survives a vendor-only one; else the older id.
      const keyed = (id: string) => !id.includes(':');
      const [survivor, merged] = keyed(b) && !keyed(a) ? [b, a] : [a, b];
      run.merge(survivor, merged, score, reasons, false, by);
      await run.flush();
      return { survivor, merged };
    });
    if (!outcome.ran)
      throw new Error(`a hub run of tenant ${tenantId} is in progress; try again in a moment`);
    return outcome.result;
  }

  /** Runs stored (quarantined) records through the current mapping again; returns how many passed. */
  async retryStored(
    tenantId: string,
    connector: HubConnector,
    records: readonly VendorCustomer[],
  ): Promise<{ passed: number; quarantined: number }> {
    const outcome = await this.store.withTenantLock(tenantId, async () => {
      const active = await this.store.mappingVersion(tenantId);
      if (!active) throw new Error(`tenant ${tenantId} has no hub mapping`);
      const run = new TenantRun(
        this.store,
        tenantId,
        active.mapping,
        await this.store.loadTenant(tenantId),
        this.logger,
      );
      const report = run.report(connector);
      run.takeAll(connector, records);
      await run.flush();
      return { passed: records.length - report.quarantined, quarantined: report.quarantined };
    });
    if (!outcome.ran)
      throw new Error(`a hub run of tenant ${tenantId} is in progress; try again in a moment`);
    return outcome.result;
  }

  /**
   * describeSchema → a versioned snapshot; every mapped field of this system that is missing, or
   * whose type changed after the active mapping was saved, is paused (the rest goes on); a mapping
   * that names fields that exist un-pauses them.
   */
  async checkSchema(
    tenantId: string,
    connector: HubConnector,
    source: CustomerSource,
    mapping: HubMapping,
    mappingSavedAt: Date,
  ): Promise<Map<string, string>> {
    const fields = await source.describe();
    const snapshot = await this.store.snapshotSchema(connector, fields);
    const history = await this.store.schemaSnapshots(connector);
    const byName = new Map(fields.map((f) => [f.name, f]));
    const paused = new Map<string, string>();
    const pausedRows: Array<{ sourceField: string; hubField: string; reason: string }> = [];
    for (const [hubField, field] of Object.entries(mapping.fields)) {
      const source = field.sources[connector];
      if (!source) continue;
      for (const name of sourceFields(source)) {
        const now = byName.get(name);
        let reason: string | null = null;
        if (!now)
          reason = `${connector} has no field "${name}" any more (removed or renamed) since schema version ${snapshot.version}`;
        else {
          const retyped = retypedAfter(history, name, mappingSavedAt);
          if (retyped)
            reason = `${connector} field "${name}" changed type ${retyped} after mapping was saved`;
        }
        if (reason) {
          paused.set(hubField, reason);
          pausedRows.push({ sourceField: name, hubField, reason });
        }
      }
    }
    await this.store.setPaused(tenantId, connector, pausedRows);
    if (pausedRows.length)
      this.logger.warn({ tenantId, connector, paused: pausedRows }, 'hub: schema drift paused mapped fields');
    return paused;
  }
}

/** The type change of a field in snapshots taken after `since` ("text → date"), if any. */
function retypedAfter(
  history: ReadonlyArray<{ fields: SchemaField[]; takenAt: Date }>,
  name: string,
  since: Date,
): string | null {
  let before: string | null = null;
  for (const snap of history) {
    const type = snap.fields.find((f) => f.name === name)?.type ?? null;
    if (snap.takenAt <= since) before = type;
    else if (before !== null && type !== null && type !== before) return `${before} → ${type}`;
  }
  return null;
}

/** One tenant's run state (in memory, written page by page). */
class TenantRun {
  private readonly reports = new Map<HubConnector, ConnectorReport>();
  private readonly index = new Map<string, Set<string>>();
  private changes: HubChanges = emptyChanges();
  private pendingDecisions: Array<HubChanges['decisions'][number] & { tempId: number }> = [];
  private nextCustomer = 0;

  constructor(
    private readonly store: HubStore,
    private readonly tenantId: string,
    private readonly mapping: HubMapping,
    private readonly state: TenantState,
    private readonly logger: Logger,
  ) {
    for (const [id, c] of state.customers) if (c.state === 'active') this.indexCustomer(id);
  }

  report(connector: HubConnector): ConnectorReport {
    const report: ConnectorReport = {
      connector,
      read: 0,
      outOfScope: 0,
      changedFields: 0,
      echoes: 0,
      quarantined: 0,
      decisions: 0,
      created: 0,
      autoMerged: 0,
      queuedForReview: 0,
      paused: [],
      written: 0,
      writeFailures: 0,
      readMs: 0,
    };
    this.reports.set(connector, report);
    return report;
  }

  async read(
    source: CustomerSource,
    paused: ReadonlyMap<string, string>,
    options: EngineOptions,
  ): Promise<void> {
    const connector = source.connector;
    const report = this.reports.get(connector)!;
    const fields = inboundFields(this.mapping, connector).filter(([hub]) => !paused.has(hub));
    const scope = this.mapping.scope[connector];
    const wanted = [
      ...new Set([...fields.flatMap(([, s]) => sourceFields(s)), ...(scope ? [scope.field] : [])]),
    ];
    let { cursor } = await this.store.cursor(this.tenantId, connector);
    for (let page = 0; page < options.maxPagesPerRun; page += 1) {
      const result = await source.read(cursor, options.pageSize, wanted);
      const before = report.outOfScope;
      for (const record of result.records) {
        // Another tenant's record in a shared vendor account: not ours to read.
        if (scope && record.raw[scope.field] !== scope.equals) {
          report.outOfScope += 1;
          continue;
        }
        this.take(connector, record, fields);
      }
      report.read += result.records.length - report.outOfScope + before;
      await this.flush({ connector, cursor: result.cursor, done: result.done, read: result.records.length });
      cursor = result.cursor;
      if (result.done) break;
    }
  }

  takeAll(connector: HubConnector, records: readonly VendorCustomer[]): void {
    const fields = inboundFields(this.mapping, connector);
    for (const record of records) this.take(connector, record, fields);
  }

  /** One vendor record: map, validate (or quarantine), identify, resolve each changed field. */
  private take(
    connector: HubConnector,
    record: VendorCustomer,
    fields: ReadonlyArray<[string, Parameters<typeof mapInbound>[0]]>,
  ): void {
    const report = this.reports.get(connector)!;
    const mapped: Record<string, string | null> = {};
    const problems: string[] = [];
    for (const [hub, source] of fields) {
      const value = mapInbound(source, record.raw);
      if (value === undefined) continue;
      mapped[hub] = value;
      problems.push(...validateValue(hub, this.mapping.fields[hub]!, value));
    }
    if (problems.length > 0) {
      report.quarantined += 1;
      this.changes.quarantine.push({
        connector,
        externalId: record.externalId,
        record: { key: record.key, modifiedAt: record.modifiedAt, raw: record.raw, mapped },
        reasons: problems,
      });
      return;
    }
    this.changes.released.push({ connector, externalId: record.externalId });
    const key = linkKey(connector, record.externalId);
    let link = this.state.links.get(key);
    const firstSight = !link;
    const customerId = link ? this.follow(link.customerId) : this.identify(connector, record, mapped);
    if (!link) {
      link = {
        connector,
        externalId: record.externalId,
        customerId,
        key: record.key,
        seen: {},
        raw: null,
        modifiedAt: null,
      };
      this.state.links.set(key, link);
    }
    link.customerId = customerId;
    link.key = record.key ?? link.key;
    for (const [field, value] of Object.entries(mapped)) {
      if (field in link.seen && link.seen[field] === value) {
        report.echoes += 1; // what the hub last saw there, or wrote there itself: no change
        continue;
      }
      link.seen[field] = value;
      // A record seen for the first time without a value offers nothing: empty is not a change.
      if (firstSight && value === null) continue;
      report.changedFields += 1;
      this.offer(customerId, field, { value, source: connector, modifiedAt: record.modifiedAt }, report);
    }
    link.raw = record.raw;
    link.modifiedAt = record.modifiedAt;
    this.changes.links.push(link);
    this.enrich(customerId);
  }

  /** An incoming value for a customer's field: set, or decided against the current one. */
  private offer(
    customerId: string,
    field: string,
    incoming: Candidate,
    report: ConnectorReport | null,
  ): void {
    const values = this.valuesOf(customerId);
    const current = values.get(field);
    if (current && current.value === incoming.value) return;
    if (!current || current.source === incoming.source || current.value === null) {
      this.setValue(
        customerId,
        field,
        { value: incoming.value, source: incoming.source, modifiedAt: incoming.modifiedAt },
        null,
      );
      return;
    }
    const decision = resolveConflict(
      field,
      { value: current.value, source: current.source as Source, modifiedAt: current.modifiedAt },
      incoming,
      this.mapping,
    );
    const tempId = this.pendingDecisions.length;
    this.pendingDecisions.push({
      tempId,
      id: '',
      customerId,
      field,
      rule: decision.rule,
      candidates: [current, incoming].map(candidateJson),
      winner: candidateJson(decision.winner),
      explanation: decision.explanation,
    });
    if (report) report.decisions += 1;
    if (decision.winner === incoming)
      this.setValue(
        customerId,
        field,
        { value: incoming.value, source: incoming.source, modifiedAt: incoming.modifiedAt },
        tempId,
      );
  }

  private setValue(customerId: string, field: string, value: FieldValue, decision: number | null): void {
    const before = this.valuesOf(customerId).get(field);
    if (before && ['email', 'phone', 'name'].includes(field)) this.unindex(customerId);
    this.valuesOf(customerId).set(field, value);
    if (['email', 'phone', 'name'].includes(field)) this.indexCustomer(customerId);
    this.changes.values.push({ customerId, field, ...value });
    this.changes.history.push({
      customerId,
      field,
      ...value,
      decisionId: decision === null ? null : `temp:${decision}`,
    });
  }

  /** Enrichment: the country of the phone number, the company domain of the e-mail (source "hub"). */
  private enrich(customerId: string): void {
    const values = this.valuesOf(customerId);
    const now = new Date();
    if (this.mapping.enrichment.countryFromPhone && !this.mapping.fields[ENRICHED.country]) {
      const country = countryOfPhone(values.get('phone')?.value ?? null);
      if (country && values.get(ENRICHED.country)?.value !== country)
        this.setValue(customerId, ENRICHED.country, { value: country, source: 'hub', modifiedAt: now }, null);
    }
    if (this.mapping.enrichment.domainFromEmail && !this.mapping.fields[ENRICHED.domain]) {
      const domain = companyDomain(values.get('email')?.value ?? null);
      if (domain && values.get(ENRICHED.domain)?.value !== domain)
        this.setValue(customerId, ENRICHED.domain, { value: domain, source: 'hub', modifiedAt: now }, null);
    }
  }

  /**
   * Which hub customer a new vendor record is: its owner id (NetSuite externalId, Zendesk
   * external_id); else an existing customer by duplicate detection (exact e-mail, or fuzzy above
   * the auto-merge threshold); else a new customer, queued for review against a near match.
   */
  private identify(
    connector: HubConnector,
    record: VendorCustomer,
    mapped: Record<string, string | null>,
  ): string {
    const report = this.reports.get(connector)!;
    const probe: Identity = {
      customerId: '',
      name: mapped['name'] ?? null,
      email: mapped['email'] ?? null,
      phone: mapped['phone'] ?? null,
    };
    const best = this.bestMatch(probe, record.key);
    const { autoMergeAbove, reviewAbove } = this.mapping.duplicates;
    if (record.key) {
      const existing = this.state.customers.get(record.key);
      if (existing) return this.follow(record.key);
      this.createCustomer(record.key, report);
      if (best && best.score >= autoMergeAbove) {
        this.merge(best.customerId, record.key, best.score, best.reasons, true, 'hub');
        report.autoMerged += 1;
        return best.customerId;
      }
      if (best && best.score >= reviewAbove) this.queueReview(record.key, best, report);
      return record.key;
    }
    if (best && best.score >= autoMergeAbove) {
      report.autoMerged += 1;
      this.changes.merges.push({
        survivor: best.customerId,
        merged: `${connector}:${record.externalId}`,
        score: best.score,
        automatic: true,
        reasons: best.reasons,
        decidedBy: 'hub',
      });
      return best.customerId;
    }
    const id = `${connector}:${record.externalId}`;
    this.createCustomer(id, report);
    if (best && best.score >= reviewAbove) this.queueReview(id, best, report);
    return id;
  }

  private bestMatch(
    probe: Identity,
    exclude: string | null,
  ): (Identity & { score: number; reasons: string[] }) | null {
    const candidates = new Set<string>();
    for (const k of blockingKeys(probe)) for (const id of this.index.get(k) ?? []) candidates.add(id);
    let best: (Identity & { score: number; reasons: string[] }) | null = null;
    for (const id of [...candidates].sort()) {
      if (id === exclude || this.state.customers.get(id)?.state !== 'active') continue;
      const other = this.identityOf(id);
      const m = matchScore(probe, other);
      if (!best || m.score > best.score) best = { ...other, ...m };
    }
    return best;
  }

  private queueReview(
    customerId: string,
    best: Identity & { score: number; reasons: string[] },
    report: ConnectorReport,
  ): void {
    report.queuedForReview += 1;
    const [a, b] = [customerId, best.customerId].sort() as [string, string];
    this.changes.reviews.push({ customerA: a, customerB: b, score: best.score, reasons: best.reasons });
  }

  private createCustomer(id: string, report: ConnectorReport): void {
    this.state.customers.set(id, { state: 'active', mergedInto: null });
    this.state.values.set(id, new Map());
    this.changes.customers.push({ customerId: id, state: 'active', mergedInto: null });
    report.created += 1;
    this.nextCustomer += 1;
  }

  /**
   * Merges `merged` into `survivor`: each of its fields offered to the survivor under the conflict
   * rules (survivorship), its links moved, its record kept as `merged` (pointing at the survivor).
   */
  merge(
    survivor: string,
    merged: string,
    score: number,
    reasons: string[],
    automatic: boolean,
    by: string,
  ): void {
    const from = this.valuesOf(merged);
    this.unindex(merged);
    this.state.customers.set(merged, { state: 'merged', mergedInto: survivor });
    this.changes.customers.push({ customerId: merged, state: 'merged', mergedInto: survivor });
    for (const [field, value] of from)
      this.offer(
        survivor,
        field,
        { value: value.value, source: value.source as Source, modifiedAt: value.modifiedAt },
        null,
      );
    for (const link of this.state.links.values()) {
      if (link.customerId !== merged) continue;
      link.customerId = survivor;
      this.changes.links.push(link);
    }
    this.changes.merges.push({ survivor, merged, score, automatic, reasons, decidedBy: by });
  }

  private follow(id: string): string {
    let current = id;
    for (let hops = 0; hops < 20; hops += 1) {
      const c = this.state.customers.get(current);
      if (!c?.mergedInto) return current;
      current = c.mergedInto;
    }
    return current;
  }

  private valuesOf(customerId: string): Map<string, FieldValue> {
    let values = this.state.values.get(customerId);
    if (!values) this.state.values.set(customerId, (values = new Map()));
    return values;
  }

  private identityOf(customerId: string): Identity {
    const v = this.valuesOf(customerId);
    return {
      customerId,
      name: v.get('name')?.value ?? null,
      email: v.get('email')?.value ?? null,
      phone: v.get('phone')?.value ?? null,
    };
  }

  private indexCustomer(id: string): void {
    for (const k of blockingKeys(this.identityOf(id))) {
      let ids = this.index.get(k);
      if (!ids) this.index.set(k, (ids = new Set()));
      ids.add(id);
    }
  }

  private unindex(id: string): void {
    for (const k of blockingKeys(this.identityOf(id))) this.index.get(k)?.delete(id);
  }

  /** Writes what was collected (decision ids resolved first) and the cursor, in one transaction. */
  async flush(cursor?: {
    connector: HubConnector;
    cursor: string | null;
    done: boolean;
    read: number;
  }): Promise<void> {
    const ids = await this.store.decisionIds(this.pendingDecisions.length);
    this.changes.decisions = this.pendingDecisions.map((d, i) => ({ ...d, id: ids[i]! }));
    for (const h of this.changes.history)
      if (h.decisionId?.startsWith('temp:')) h.decisionId = ids[Number(h.decisionId.slice(5))]!;
    await this.store.apply(this.tenantId, this.changes, cursor);
    this.changes = emptyChanges();
    this.pendingDecisions = [];
  }

  /**
   * Writes the hub's values to every linked record of this system whose values differ from what
   * the hub last saw there (fields with direction out or both, not paused), in bulk; what it wrote
   * becomes `seen`, so the change that comes back is an echo, not a new candidate.
   */
  async writeBack(source: CustomerSource, paused: ReadonlySet<string>): Promise<void> {
    const connector = source.connector;
    const report = this.reports.get(connector)!;
    const fields = outboundFields(this.mapping, connector).filter(([hub]) => !paused.has(hub));
    if (fields.length === 0) return;
    const writes: Array<{ link: LinkState; write: CustomerWrite; values: Record<string, string | null> }> =
      [];
    for (const link of this.state.links.values()) {
      if (link.connector !== connector) continue;
      const customerId = this.follow(link.customerId);
      const values = this.valuesOf(customerId);
      const out: Record<string, string | null> = {};
      const hubValues: Record<string, string | null> = {};
      for (const [hub, source] of fields) {
        const current = values.get(hub);
        if (!current || current.value === null) continue; // never blank a system's value
        if (link.seen[hub] === current.value) continue;
        Object.assign(out, mapOutbound(source, current.value));
        hubValues[hub] = current.value;
      }
      if (Object.keys(out).length === 0) continue;
      const email = values.get('email')?.value ?? link.raw?.['email'] ?? null;
      writes.push({
        link,
        write: { externalId: link.externalId, key: link.key, email, fields: out },
        values: hubValues,
      });
    }
    if (writes.length === 0) return;
    const results = await source.write(writes.map((w) => w.write));
    writes.forEach((w, i) => {
      const result = results[i];
      if (result?.ok) {
        report.written += 1;
        Object.assign(w.link.seen, w.values);
        this.changes.links.push(w.link);
      } else {
        report.writeFailures += 1;
        this.changes.quarantine.push({
          connector,
          externalId: w.link.externalId,
          record: { write: w.write.fields },
          reasons: [`write refused: ${result?.error ?? 'no result'}`],
        });
      }
    });
    await this.flush();
    this.logger.debug({ tenantId: this.tenantId, connector, written: report.written }, 'hub write-back');
  }
}

function candidateJson(c: {
  value: string | null;
  source: string;
  modifiedAt: Date;
}): Record<string, unknown> {
  return { value: c.value, source: c.source, modifiedAt: c.modifiedAt.toISOString() };
}
