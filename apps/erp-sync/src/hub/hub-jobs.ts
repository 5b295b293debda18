import { FlowProducer, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '@saldo/logging';
import type { HubEngine } from './hub-engine';
import type { HubStore } from './hub-store';
import type { HubConnector } from './mapping';

/**
 * The hub's orchestration on BullMQ (the Redis already in the stack): per-connector schedules
 * (job schedulers) tick; a tick enqueues, for every tenant with a mapping, a flow
 * schema check → read (map, validate, resolve) → write back, each step a queued, retried,
 * observable job; a parent runs only once its child succeeded. Several workers (erp-sync
 * instances) share the queue; one tenant runs one step at a time (the engine's run lock: a busy
 * tenant's job is retried with backoff). Vendor limits and priorities stay with each vendor's
 * limiter (the hub waits behind the ERP's money and the CRM balances).
 */
export interface HubJobsOptions {
  redisUrl: string;
  queueName: string;
  concurrency: number;
  /** Per connector, how often its sync runs (absent: not scheduled). */
  everyMs: Partial<Record<HubConnector, number>>;
}

type Step = 'schema' | 'read' | 'write';
interface StepData {
  tenantId: string;
  connector: HubConnector;
}

export class TenantBusy extends Error {}

const JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
} as const;

export class HubJobs {
  private readonly connection: Redis;
  readonly queue: Queue;
  private readonly flows: FlowProducer;
  private worker: Worker | undefined;
  private events: QueueEvents | undefined;
  private readonly extra: Redis[] = [];
  readonly stats = { completed: 0, failed: 0, busyRetries: 0 };

  constructor(
    private readonly engine: HubEngine,
    private readonly store: HubStore,
    private readonly options: HubJobsOptions,
    private readonly logger: Logger,
  ) {
    // BullMQ's blocking commands need maxRetriesPerRequest null.
    this.connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.queue = new Queue(options.queueName, { connection: this.connection });
    this.flows = new FlowProducer({ connection: this.connection });
  }

  /** Registers the schedules and starts a worker on the queue. */
  async start(): Promise<void> {
    for (const [connector, every] of Object.entries(this.options.everyMs) as Array<[HubConnector, number]>) {
      await this.queue.upsertJobScheduler(
        `hub-tick-${connector}`,
        { every },
        { name: 'tick', data: { connector } },
      );
    }
    this.worker = new Worker(this.options.queueName, (job) => this.process(job), {
      connection: this.duplicate(),
      concurrency: this.options.concurrency,
    });
    this.worker.on('completed', () => (this.stats.completed += 1));
    this.worker.on('failed', (job, error) => {
      this.stats.failed += 1;
      if (!(error instanceof TenantBusy))
        this.logger.warn({ err: error, job: job?.name, data: job?.data as unknown }, 'hub job failed');
    });
  }

  /** Enqueues a tenant's flow for one connector now; resolves with the parent job. */
  async enqueue(tenantId: string, connector: HubConnector, slot = `${Date.now()}`): Promise<Job> {
    const data: StepData = { tenantId, connector };
    const id = (step: Step) => `${step}-${safe(tenantId)}-${connector}-${slot}`;
    const node = await this.flows.add({
      name: 'write',
      queueName: this.options.queueName,
      data,
      opts: { ...JOB_OPTIONS, jobId: id('write') },
      children: [
        {
          name: 'read',
          queueName: this.options.queueName,
          data,
          opts: { ...JOB_OPTIONS, jobId: id('read') },
          children: [
            {
              name: 'schema',
              queueName: this.options.queueName,
              data,
              opts: { ...JOB_OPTIONS, jobId: id('schema') },
            },
          ],
        },
      ],
    });
    return node.job;
  }

  /**
   * A vendor said something changed (a verified webhook): every hub tenant reads that system now.
   * Deliveries within the same `debounceMs` window share one flow per tenant.
   */
  async poke(connector: HubConnector, debounceMs = 5_000): Promise<number> {
    const tenants = await this.store.tenants();
    const slot = `hook${Math.floor(Date.now() / debounceMs)}`;
    for (const tenantId of tenants) await this.enqueue(tenantId, connector, slot);
    return tenants.length;
  }

  /** Enqueues and waits for the flow's last step (operator's "sync now" through the queue). */
  async runNow(tenantId: string, connector: HubConnector, timeoutMs = 120_000): Promise<unknown> {
    this.events ??= new QueueEvents(this.options.queueName, { connection: this.duplicate() });
    await this.events.waitUntilReady();
    const job = await this.enqueue(tenantId, connector);
    return job.waitUntilFinished(this.events, timeoutMs);
  }

  private async process(job: Job): Promise<unknown> {
    if (job.name === 'tick') {
      const { connector } = job.data as { connector: HubConnector };
      const tenants = await this.store.tenants();
      // One flow per tenant and schedule slot: a tick delivered twice enqueues nothing new.
      const every = this.options.everyMs[connector] ?? 60_000;
      const slot = String(Math.floor(Date.now() / every));
      for (const tenantId of tenants) await this.enqueue(tenantId, connector, slot);
      return { tenants: tenants.length };
    }
    const { tenantId, connector } = job.data as StepData;
    const step = job.name as Step;
    const result =
      step === 'schema'
        ? await this.engine.schemaStep(tenantId, connector)
        : step === 'read'
          ? await this.engine.run(tenantId, [connector], { writeBack: false })
          : await this.engine.writeBackOnly(tenantId, [connector]);
    if (result === null) {
      this.stats.busyRetries += 1;
      throw new TenantBusy(`tenant ${tenantId} is running elsewhere; retried`);
    }
    return result;
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    await this.events?.close();
    await this.flows.close();
    await this.queue.close();
    for (const c of this.extra) c.disconnect();
    this.connection.disconnect();
  }

  private duplicate(): Redis {
    const c = this.connection.duplicate();
    this.extra.push(c);
    return c;
  }
}

function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}
