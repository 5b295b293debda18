// Distributed tracing end to end, on the real processes: an in-test OTLP/HTTP collector (JSON
// bodies on POST /v1/traces), transaction-aggregator, wallet-ledger with its outbox relay, and
// erp-sync on the vendor stand-ins, all exporting to it. One TopUp through the aggregator with a
// caller's `traceparent` must come back as one trace: the aggregator's server span under the
// caller's span, its ledger client span, the ledger's server span (gRPC metadata), the relay's
// publish span (Pub/Sub attributes) and erp-sync's receive span, each the child of the one before.
// A balance action published with a `traceparent` attribute is handled in that trace too, and its
// result message carries it on.
import { PubSub, type Message } from '@google-cloud/pubsub';
import {
  createTestDatabase,
  freePort,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  startLedger,
  startAggregator,
  aggregatorEnv,
  Api,
} from '@saldo/test-support';
import { startStandins, type RunningStandins } from '@saldo/vendor-standins';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');
const TENANT = `trace-${randomBytes(3).toString('hex')}`;
const API_KEY = `key-${randomBytes(16).toString('hex')}`;
const TOPIC = `ledger-events-trace-${randomBytes(3).toString('hex')}`;
const ACTIONS = `balance-actions-trace-${randomBytes(3).toString('hex')}`;

interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

/** OTLP JSON ids are hex (the JS exporter) or base64 (the spec's protobuf-JSON mapping). */
const hexId = (id: unknown): string => {
  const text = typeof id === 'string' ? id : '';
  return /^[0-9a-f]*$/i.test(text) ? text.toLowerCase() : Buffer.from(text, 'base64').toString('hex');
};

const spans: CollectedSpan[] = [];
const requests: Array<{ path: string; contentType: string }> = [];
let collector: http.Server;
let database: TestDatabase;
let standins: RunningStandins;
let ledger: ServiceProcess;
let aggregator: ServiceProcess;
let erpSync: ChildProcess | undefined;
let api: Api;

function collect(body: string): void {
  const parsed = JSON.parse(body) as {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
    }>;
  };
  for (const resourceSpan of parsed.resourceSpans ?? []) {
    const service =
      resourceSpan.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const scope of resourceSpan.scopeSpans ?? [])
      for (const span of scope.spans ?? [])
        spans.push({
          service,
          traceId: hexId(span['traceId']),
          spanId: hexId(span['spanId']),
          parentSpanId: hexId(span['parentSpanId'] ?? ''),
          name: String(span['name']),
          kind: Number(span['kind']),
        });
  }
}

async function startCollector(): Promise<string> {
  collector = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '' });
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      try {
        collect(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
}

function call(
  method: string,
  request: Record<string, unknown>,
  traceparent?: string,
): Promise<Record<string, string>> {
  return api.call(method, request, API_KEY, traceparent ? { traceparent } : {});
}

async function startErpSync(env: Record<string, string>): Promise<void> {
  const port = await freePort();
  const runId = process.env['SALDO_TEST_RUN_ID'];
  const dir = path.join(ROOT, 'tmp', runId ? `test-run-${runId}` : 'test-services', 'services');
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `erp-sync-tracing-${Date.now()}.log`));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/out-tsc/apps/erp-sync/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, ERP_SYNC_HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  erpSync = child;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`erp-sync exited with ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'erp-sync ready' },
  );
}

beforeAll(async () => {
  if (!process.env['PUBSUB_EMULATOR_HOST'])
    throw new Error('PUBSUB_EMULATOR_HOST is not set: run with `npm test`');
  const endpoint = await startCollector();
  [database, standins] = await Promise.all([createTestDatabase('tracing_e2e'), startStandins()]);
  const tracing = {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  const tenants = {
    [TENANT]: {
      subsidiary: '1',
      accounts: {
        cashClearing: '100',
        customerPrepayment: '200',
        revenue: '400',
        costOfRevenue: '500',
        payables: '210',
      },
      currencies: { IDR: '5' },
      defaultItem: '30',
    },
  };
  // erp-sync first: its subscription must exist before the first event is published.
  await startErpSync({
    ...standins.env,
    ...tracing,
    DATABASE_URL: database.url,
    LEDGER_EVENTS_TOPIC: TOPIC,
    ERP_SYNC_SUBSCRIPTION: `${TOPIC}-erp-sync`,
    ERP_SYNC_TENANTS_JSON: JSON.stringify(tenants),
    ERP_SYNC_POLL_INTERVAL_MS: '100',
    ERP_SYNC_SUMMARY_DELAY_MS: '100',
    LOG_LEVEL: 'warn',
  });
  const ledgerTarget = `127.0.0.1:${await freePort()}`;
  const aggregatorTarget = `127.0.0.1:${await freePort()}`;
  ledger = (
    await startLedger(database.url, {
      at: ledgerTarget,
      env: {
        ...tracing,
        LEDGER_EVENTS_TOPIC: TOPIC,
        LEDGER_MIRROR_ENABLED: 'false',
        LEDGER_OUTBOX_POLL_INTERVAL_MS: '50',
        LEDGER_OUTBOX_RELAY_ENABLED: 'true',
      },
    })
  ).process;
  aggregator = (
    await startAggregator(
      aggregatorEnv(database.url, ledgerTarget, {
        ...tracing,
        SALDO_API_KEYS: `${TENANT}=${API_KEY}`,
        AGGREGATOR_ACTIONS_TOPIC: ACTIONS,
        AGGREGATOR_ACTIONS_SUBSCRIPTION: `${ACTIONS}-aggregator`,
        AGGREGATOR_RESULTS_TOPIC: `${ACTIONS}-results`,
        AGGREGATOR_DEAD_LETTER_TOPIC: `${ACTIONS}-dead-letter`,
        AGGREGATOR_PUBSUB_ENABLED: 'true',
      }),
      { at: aggregatorTarget },
    )
  ).process;
  api = new Api(aggregatorTarget, API_KEY);
}, 180_000); // erp-sync, ledger and aggregator each may take up to 30 s to serve on a busy machine

afterAll(async () => {
  api?.close();
  if (erpSync && erpSync.exitCode === null) {
    const child = erpSync;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  }
  await Promise.all([aggregator?.stop(), ledger?.stop()]);
  await standins?.stop();
  await database?.drop();
  await new Promise((resolve) => collector?.close(resolve));
});

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

it("one TopUp with a caller's traceparent is one trace across the aggregator, the ledger, the relay and erp-sync", async () => {
  const wallet = await call('OpenWallet', {
    idempotencyKey: randomUUID(),
    ownerType: 'PERSONAL',
    ownerId: 'traced',
    currency: 'IDR',
  });
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');
  const topUp = await call(
    'TopUp',
    { idempotencyKey: randomUUID(), walletId: wallet['walletId'], amount: '25000' },
    `00-${traceId}-${callerSpanId}-01`,
  );
  expect(topUp['status']).toBe('POSTED');

  const inTrace = () => spans.filter((s) => s.traceId === traceId);
  const find = (service: string, kind: number, name: RegExp) =>
    inTrace().find((s) => s.service === service && s.kind === kind && name.test(s.name));
  await waitFor(() => find('erp-sync', CONSUMER, /^ledger-events receive$/), {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: `erp-sync's receive span in trace ${traceId}`,
  }).catch((error: Error) => {
    const seen = inTrace().map((s) => `${s.service} ${s.kind} ${s.name} ${s.spanId}<-${s.parentSpanId}`);
    throw new Error(
      `${error.message}\nspans of the trace:\n${seen.join('\n')}\nrequests: ${JSON.stringify(requests.slice(0, 5))}`,
    );
  });

  const aggregatorServer = find('transaction-aggregator', SERVER, /TransactionService\/TopUp$/);
  expect(aggregatorServer?.parentSpanId).toBe(callerSpanId);
  // The aggregator's writes go to the ledger in batches (group commit): an idle aggregator sends
  // this call's TopUp as a batch of one, in the trace of the call that started the batch.
  const ledgerClient = find('transaction-aggregator', CLIENT, /LedgerService\/PostBatch$/);
  expect(ledgerClient?.parentSpanId).toBe(aggregatorServer?.spanId);
  const ledgerServer = find('wallet-ledger', SERVER, /LedgerService\/PostBatch$/);
  expect(ledgerServer?.parentSpanId).toBe(ledgerClient?.spanId);
  // The relay publishes the posting's event moments later, in the trace of the call that posted it.
  const publishes = inTrace().filter((s) => s.service === 'wallet-ledger' && s.kind === PRODUCER);
  expect(publishes.length).toBeGreaterThan(0);
  for (const publish of publishes) expect(publish.parentSpanId).toBe(ledgerServer?.spanId);
  const received = inTrace().filter((s) => s.service === 'erp-sync' && s.kind === CONSUMER);
  for (const receive of received) expect(publishes.map((p) => p.spanId)).toContain(receive.parentSpanId);
  // Spans arrived as OTLP JSON on /v1/traces.
  expect(requests.some((r) => r.path === '/v1/traces' && r.contentType.startsWith('application/json'))).toBe(
    true,
  );
});

it('a balance action published with a traceparent attribute is handled, posted and answered in that trace', async () => {
  const wallet = await call('OpenWallet', {
    idempotencyKey: randomUUID(),
    ownerType: 'PERSONAL',
    ownerId: 'traced-pubsub',
    currency: 'IDR',
  });
  const traceId = randomBytes(16).toString('hex');
  const producerSpanId = randomBytes(8).toString('hex');
  const pubsub = new PubSub({ projectId: process.env['GOOGLE_CLOUD_PROJECT'] ?? 'saldo-test' });
  try {
    const [results] = await pubsub.topic(`${ACTIONS}-results`).createSubscription(`${ACTIONS}-results-spec`);
    const result = new Promise<Message>((resolve) =>
      results.on('message', (message: Message) => {
        message.ack();
        resolve(message);
      }),
    );
    const body = JSON.stringify({
      idempotencyKey: randomUUID(),
      walletId: wallet['walletId'],
      amount: '7000',
    });
    const signedAt = String(Date.now());
    await pubsub.topic(ACTIONS).publishMessage({
      data: Buffer.from(body),
      attributes: {
        action: 'TopUp',
        tenant: TENANT,
        timestamp: signedAt,
        signature: createHmac('sha256', API_KEY)
          .update(`${signedAt}.`)
          .update(Buffer.from(body))
          .digest('hex'),
        traceparent: `00-${traceId}-${producerSpanId}-01`,
      },
    });
    const answered = await Promise.race([
      result,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no result message in 30 s')), 30_000),
      ),
    ]);
    await results.close();
    expect(answered.attributes['status']).toBe('OK');
    const consume = () =>
      spans.find(
        (s) => s.traceId === traceId && s.service === 'transaction-aggregator' && s.kind === CONSUMER,
      );
    const ledgerServer = () =>
      spans.find((s) => s.traceId === traceId && s.service === 'wallet-ledger' && s.kind === SERVER);
    await waitFor(() => consume() && ledgerServer(), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: `the aggregator's consume span and the ledger's server span in trace ${traceId}`,
    });
    expect(consume()?.name).toBe('balance-actions process');
    expect(consume()?.parentSpanId).toBe(producerSpanId);
    // The result message continues the trace (its traceparent names a span of the same trace).
    expect(answered.attributes['traceparent']).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  } finally {
    await pubsub.close();
  }
});
