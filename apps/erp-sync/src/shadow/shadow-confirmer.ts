import { logFailure } from '@saldo/faults';
import type { Logger } from '@saldo/logging';
import type { NetSuiteConnector } from '../connectors/netsuite/netsuite-connector';
import type { AggregatorGateway } from './aggregator-gateway';
import type { DocumentRow, DocumentStore } from './document-store';
import { documentStatusQuery, NETSUITE_TYPES, verdictOf } from './document-status';

export interface ShadowConfirmerOptions {
  /** How often due documents are polled, and how long an undecided one waits for its next poll. */
  pollIntervalMs: number;
  /** Documents per SuiteQL query (≤ 100). */
  batch: number;
}

/**
 * Watches the ERP documents behind shadow top-ups: reads their status from NetSuite by SuiteQL
 * (periodically, and at once when a verified webhook names one) and hands a final verdict to the
 * aggregator, which confirms the top-up or reverses it through the ledger. The ERP is the only
 * source of the verdict: a webhook only says "look now". Every step is idempotent (the aggregator
 * keys the reversal on the document), so a repeated poll or webhook changes nothing.
 */
export class ShadowConfirmer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: DocumentStore,
    private readonly netsuite: NetSuiteConnector,
    private readonly aggregator: AggregatorGateway,
    private readonly options: ShadowConfirmerOptions,
    private readonly logger: Logger,
  ) {
    if (options.batch < 1 || options.batch > 100) throw new Error('batch must be 1..100');
  }

  start(): void {
    this.running = true;
    const tick = async () => {
      await this.pollOnce().catch((error: unknown) =>
        logFailure(this.logger, error, {}, 'shadow document poll failed'),
      );
      if (this.running) this.timer = setTimeout(() => void tick(), this.options.pollIntervalMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.chain.catch(() => undefined);
  }

  /** Polls the documents that are due; the number checked. */
  pollOnce(): Promise<number> {
    return this.serial(async () => {
      const due = await this.store.due(this.options.batch);
      if (due.length > 0) await this.check(due);
      return due.length;
    });
  }

  /** A verified webhook named this document: ask the ERP now. Undefined when erp-sync does not watch it. */
  checkNow(tenantId: string, documentId: string): Promise<DocumentRow | undefined> {
    return this.serial(async () => {
      const row = await this.store.find(tenantId, documentId);
      if (!row) return undefined;
      if (row.state === 'watching') await this.check([row]);
      return this.store.find(tenantId, documentId);
    });
  }

  /** One check at a time (the poll loop and webhooks), so one document is never resolved twice at once. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async check(rows: readonly DocumentRow[]): Promise<void> {
    let found: Map<string, string | null>;
    try {
      const items = await this.netsuite.suiteql(
        documentStatusQuery([...new Set(rows.map((r) => r.document_id))]),
      );
      found = new Map(items.map((item) => [`${item['type']}/${item['tranid']}`, item['status'] ?? null]));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const row of rows)
        await this.store.polled(row.tenant_id, row.document_id, null, message, this.options.pollIntervalMs);
      return;
    }
    for (const row of rows) {
      const status = found.get(`${NETSUITE_TYPES[row.document_type]}/${row.document_id}`) ?? null;
      const verdict = verdictOf(row.document_type, status);
      if (verdict === 'pending') {
        await this.store.polled(
          row.tenant_id,
          row.document_id,
          status,
          status === null ? 'not found in the ERP' : null,
          this.options.pollIntervalMs,
        );
        continue;
      }
      const erpStatus = status as string;
      try {
        const result = await this.aggregator.resolve(
          row.tenant_id,
          row.document_id,
          verdict,
          `NetSuite ${NETSUITE_TYPES[row.document_type]} status ${erpStatus}`,
        );
        if (result.state === 'watching') throw new Error('the aggregator still has it pending');
        await this.store.resolved(
          row.tenant_id,
          row.document_id,
          result.state,
          erpStatus,
          result.state === 'rejected_unrecoverable' ? result.reason : null,
        );
        const log =
          result.state === 'rejected_unrecoverable'
            ? this.logger.error.bind(this.logger)
            : this.logger.info.bind(this.logger);
        log(
          { tenant: row.tenant_id, document: row.document_id, state: result.state, reason: result.reason },
          'ERP document resolved',
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn(
          { tenant: row.tenant_id, document: row.document_id, err: error },
          'could not hand the ERP verdict to the aggregator; retrying later',
        );
        await this.store.polled(
          row.tenant_id,
          row.document_id,
          erpStatus,
          message,
          this.options.pollIntervalMs,
        );
      }
    }
  }
}
