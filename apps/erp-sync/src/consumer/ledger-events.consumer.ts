import { logFailure } from '@saldo/faults';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import type { Logger } from '@saldo/logging';
import { startConsumerSpan } from '@saldo/tracing';
import { mapLedgerEvent } from '../mapping/accounting';
import { EventFormatError, parseLedgerEvent, type LedgerEventBody } from '../mapping/ledger-event';
import type { TenantsConfig } from '../mapping/tenant-config';
import type { DocumentStore, WatchedDocument } from '../shadow/document-store';
import type { ConnectorName, IncomingEvent, IngestTiming, SyncStore } from '../store/sync-store';

export interface ConsumerOptions {
  projectId: string;
  topic: string;
  subscription: string;
  createSubscription: boolean;
  ackDeadlineSeconds: number;
  maxMessages: number;
  batchSize: number;
  lingerMs: number;
  timing: IngestTiming;
  crmConnectors: readonly ConnectorName[];
}

/**
 * The ordered, at-least-once subscription on `ledger-events`. Messages are mapped (one mapping
 * module, per-tenant config) and stored in batches, one PostgreSQL transaction each; a message is
 * acked only after its batch committed, and nacked when the batch failed (it comes back, and the
 * event-id dedupe makes the second store a no-op). One batch is stored at a time, so per-wallet
 * order is kept. A body that cannot be read is kept as a dead record and acked: it would never parse.
 */
export class LedgerEventsConsumer {
  private readonly pubsub: PubSub;
  private subscription: Subscription | undefined;
  private buffer: Array<{ message: Message; event: IncomingEvent; document?: WatchedDocument }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  readonly stats = { received: 0, stored: 0, duplicates: 0, failedBatches: 0, unreadable: 0 };

  constructor(
    private readonly store: SyncStore,
    private readonly tenants: TenantsConfig,
    private readonly options: ConsumerOptions,
    private readonly logger: Logger,
    /** Where top-ups from ERP documents are put under watch (shadow confirmation); none: not watched. */
    private readonly documents?: DocumentStore,
  ) {
    this.pubsub = new PubSub({ projectId: options.projectId });
  }

  async start(): Promise<void> {
    if (this.options.createSubscription) await this.ensureSubscription();
    this.subscription = this.pubsub.subscription(this.options.subscription, {
      flowControl: { maxMessages: this.options.maxMessages, allowExcessMessages: false },
    });
    this.subscription.on('message', (message: Message) => this.receive(message));
    this.subscription.on('error', (error: Error) =>
      this.logger.error({ err: error }, 'ledger-events subscription error'),
    );
    this.logger.info(
      { subscription: this.options.subscription, topic: this.options.topic },
      'consuming ledger events',
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.close().catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
    await this.pubsub.close().catch(() => undefined);
  }

  private receive(message: Message): void {
    // Continues the relay's trace (traceparent attribute) for the receipt; the vendor writes come later.
    const span = startConsumerSpan('ledger-events receive', message.attributes, {
      'messaging.system': 'gcp_pubsub',
      'messaging.operation': 'receive',
      'messaging.message.id': message.id,
    });
    try {
      this.take(message);
    } finally {
      span.end();
    }
  }

  private take(message: Message): void {
    this.stats.received += 1;
    let event: IncomingEvent;
    let document: WatchedDocument | undefined;
    try {
      ({ event, document } = incomingOf(message.data, this.tenants, this.options.crmConnectors));
    } catch (error) {
      if (!(error instanceof EventFormatError)) throw error;
      this.stats.unreadable += 1;
      const eventId = message.attributes['event_id'] || `message-${message.id}`;
      event = {
        eventId,
        tenantId: message.attributes['tenant'] || 'unknown',
        transactionId: null,
        mapping: { outcome: 'unmappable', reason: `unreadable event: ${error.message}`, balance: null },
        crmConnectors: [],
        raw: { data: message.data.toString('utf8').slice(0, 100_000), attributes: message.attributes },
      };
    }
    this.buffer.push({ message, event, document });
    if (this.buffer.length >= this.options.batchSize) this.scheduleFlush(0);
    else this.scheduleFlush(this.options.lingerMs);
  }

  private scheduleFlush(delayMs: number): void {
    if (delayMs === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, delayMs);
    }
  }

  /** Serialised: one batch at a time, in arrival order. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.options.batchSize);
        try {
          // Before the accounting: a failure nacks the batch, and the redelivery watches again (no-op).
          const documents = batch.flatMap((b) => (b.document ? [b.document] : []));
          if (this.documents && documents.length > 0) await this.documents.watch(documents);
          const result = await this.store.ingest(
            batch.map((b) => b.event),
            this.options.timing,
          );
          this.stats.stored += result.fresh;
          this.stats.duplicates += result.duplicates;
          for (const { message } of batch) message.ack();
        } catch (error) {
          this.stats.failedBatches += 1;
          logFailure(
            this.logger,
            error,
            { size: batch.length },
            'storing ledger events failed; nacked for redelivery',
          );
          for (const { message } of batch) message.nack();
        }
      }
    });
    return this.flushing;
  }

  private async ensureSubscription(): Promise<void> {
    const topic = this.pubsub.topic(this.options.topic);
    const [topicExists] = await topic.exists();
    if (!topicExists) await topic.create().catch(ignoreAlreadyExists);
    const subscription = topic.subscription(this.options.subscription);
    const [exists] = await subscription.exists();
    if (!exists) {
      await topic
        .createSubscription(this.options.subscription, {
          enableMessageOrdering: true,
          ackDeadlineSeconds: this.options.ackDeadlineSeconds,
        })
        .catch(ignoreAlreadyExists);
    }
  }
}

function ignoreAlreadyExists(error: { code?: number }): void {
  if (error.code !== 6) throw error; // ALREADY_EXISTS: another instance created it
}

export function toIncoming(
  data: Buffer | string,
  tenants: TenantsConfig,
  crm: readonly ConnectorName[],
): IncomingEvent {
  return incomingOf(data, tenants, crm).event;
}

/** A posted top-up that names an ERP document (references `erp_document`, `erp_document_type`). */
export function watchedDocumentOf(event: LedgerEventBody): WatchedDocument | undefined {
  const tx = event.transaction;
  if (
    !tx ||
    tx.action !== 'TOP_UP' ||
    tx.reversesTransactionId ||
    event.type !== 'LEDGER_EVENT_TYPE_TRANSACTION_POSTED'
  )
    return undefined;
  const documentId = tx.references['erp_document'];
  const documentType = tx.references['erp_document_type'];
  if (!documentId || (documentType !== 'invoice' && documentType !== 'sales_order')) return undefined;
  return { tenantId: event.tenantId, documentId, documentType, transactionId: tx.transactionId };
}

export function incomingOf(
  data: Buffer | string,
  tenants: TenantsConfig,
  crm: readonly ConnectorName[],
): { event: IncomingEvent; document: WatchedDocument | undefined } {
  const parsed = parseLedgerEvent(data);
  return { event: incomingEvent(parsed, data, tenants, crm), document: watchedDocumentOf(parsed) };
}

function incomingEvent(
  parsed: LedgerEventBody,
  data: Buffer | string,
  tenants: TenantsConfig,
  crm: readonly ConnectorName[],
): IncomingEvent {
  const tenant = tenants[parsed.tenantId];
  const crmConnectors = crm.filter((c) =>
    c === 'zendesk' ? tenant?.crm.zendesk : c === 'activecampaign' ? tenant?.crm.activeCampaign : false,
  );
  return {
    eventId: parsed.eventId,
    tenantId: parsed.tenantId,
    transactionId: parsed.transaction?.transactionId ?? null,
    mapping: mapLedgerEvent(parsed, tenants),
    crmConnectors,
    // The body as received (the parsed form holds bigints); an operator's replay parses it again.
    raw: JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as unknown,
  };
}
