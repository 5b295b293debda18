// Any client works on the first try (issue 12): generic tools find the API through server
// reflection alone, with the README's exact snake_case JSON. `buf curl` here is the same binary
// `npx buf curl` runs (the workspace's @bufbuild/buf), asked nothing but the URL: no --schema.
import { apiKey, freePort, ROOT, startStack, tenantId, type Stack } from '@saldo/test-support';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const TENANT = tenantId('anyclient');
const KEY = apiKey();
const BUF = path.join(ROOT, 'node_modules/.bin/buf');

let stack: Stack;
let door: string; // host:port of the HTTP door (Connect protocol)
let metricsPort: number;

beforeAll(async () => {
  const connectPort = await freePort();
  metricsPort = await freePort();
  stack = await startStack('anyclient', {
    SALDO_API_KEYS: `${TENANT}=${KEY}`,
    AGGREGATOR_CONNECT_HOST: '127.0.0.1',
    AGGREGATOR_CONNECT_PORT: String(connectPort),
    AGGREGATOR_HTTP_PORT: String(metricsPort),
  });
  door = `127.0.0.1:${connectPort}`;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

/** `buf curl` through reflection; the parsed JSON answer, or the failure with buf's stderr. */
async function bufCurl(url: string, body: object, extra: string[] = []): Promise<Record<string, unknown>> {
  const args = ['curl', ...extra, '-H', `authorization: Bearer ${KEY}`, '-d', JSON.stringify(body), url];
  try {
    const { stdout } = await promisify(execFile)(BUF, args, { cwd: ROOT, timeout: 30_000 });
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`buf ${args.join(' ')} failed: ${failure.stderr || failure.stdout || failure.message}`);
  }
}

describe('server reflection serves the real descriptors (gRPC port)', () => {
  const grpc = ['--protocol', 'grpc', '--http2-prior-knowledge'];
  const url = (method: string) => `http://${stack.aggregatorTarget}/${method}`;

  it('OpenWallet and TopUp with the README’s snake_case JSON; answers in canonical proto3 JSON', async () => {
    const wallet = await bufCurl(
      url('saldo.transaction.v1.TransactionService/OpenWallet'),
      { idempotency_key: 'reflect-open-1', owner_type: 'PERSONAL', owner_id: 'alice', currency: 'IDR' },
      grpc,
    );
    expect(wallet).toMatchObject({
      ownerType: 'PERSONAL',
      ownerId: 'alice',
      currency: 'IDR',
      role: 'WALLET_ROLE_STANDALONE',
    });
    expect(wallet['walletId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(wallet['createdAt']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/); // RFC 3339, not {seconds, nanos}

    const topUp = await bufCurl(
      url('saldo.transaction.v1.TransactionService/TopUp'),
      {
        idempotency_key: 'reflect-topup-1',
        wallet_id: wallet['walletId'],
        amount: '15000',
        reference: 'pay-1',
      },
      grpc,
    );
    expect(topUp).toMatchObject({ type: 'TOP_UP', status: 'POSTED', amount: '15000', reference: 'pay-1' });

    // The lowerCamelCase JSON names work too (proto3 JSON accepts both).
    const again = await bufCurl(
      url('saldo.transaction.v1.TransactionService/GetWallet'),
      { walletId: wallet['walletId'] },
      grpc,
    );
    expect(again).toMatchObject({ postedBalance: '15000', availableBalance: '15000' });
  }, 60_000);

  it('grpc.health.v1.Health/Check', async () => {
    expect(
      await bufCurl(
        url('grpc.health.v1.Health/Check'),
        { service: 'saldo.transaction.v1.TransactionService' },
        grpc,
      ),
    ).toEqual({
      status: 'SERVING',
    });
  }, 30_000);

  it('lists the services it serves, health included', async () => {
    const { stdout } = await promisify(execFile)(
      BUF,
      [
        'curl',
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        '--list-services',
        `http://${stack.aggregatorTarget}`,
      ],
      { cwd: ROOT, timeout: 30_000 },
    );
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(
      expect.arrayContaining(['grpc.health.v1.Health', 'saldo.transaction.v1.TransactionService']),
    );
  }, 30_000);
});

/** A POST of Connect JSON, as the README's curl sends it. */
async function post(method: string, body: object, key: string | null = KEY) {
  const response = await fetch(`http://${door}/saldo.transaction.v1.TransactionService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as any };
}

describe('the HTTP door: Connect JSON on the same handlers', () => {
  let walletId: string;

  it('curl-style JSON (snake_case in, canonical proto3 JSON out) opens, tops up and reads a wallet', async () => {
    const opened = await post('OpenWallet', {
      idempotency_key: 'door-open-1',
      owner_type: 'PERSONAL',
      owner_id: 'bob',
      currency: 'USD',
    });
    expect(opened.status).toBe(200);
    expect(opened.json).toMatchObject({
      ownerType: 'PERSONAL',
      ownerId: 'bob',
      currency: 'USD',
      currencyScale: 2,
    });
    walletId = opened.json.walletId;

    const topUp = await post('TopUp', {
      idempotency_key: 'door-topup-1',
      wallet_id: walletId,
      amount: '12000',
    });
    expect(topUp.status).toBe(200);
    expect(topUp.json).toMatchObject({ type: 'TOP_UP', status: 'POSTED', amount: '12000', currency: 'USD' });
    expect(topUp.json.createdAt).toMatch(/Z$/);

    // The same key and request: the original answer, replayed (idempotency is the handler's).
    const replay = await post('TopUp', {
      idempotency_key: 'door-topup-1',
      wallet_id: walletId,
      amount: '12000',
    });
    expect(replay.json).toMatchObject({ transactionId: topUp.json.transactionId, replayed: true });

    const wallet = await post('GetWallet', { walletId });
    expect(wallet.json).toMatchObject({ walletId, postedBalance: '12000', availableBalance: '12000' });
  }, 60_000);

  it('errors: the gRPC status as a Connect code, the same message, reason and field as details', async () => {
    const invalid = await post('TopUp', {
      idempotency_key: 'door-bad-1',
      wallet_id: walletId,
      amount: '12.50',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json.code).toBe('invalid_argument');
    expect(invalid.json.message).toMatch(/^amount/);
    expect(invalid.headers.get('saldo-error-code')).toBe('INVALID_ARGUMENT');
    expect(invalid.headers.get('saldo-error-field')).toBe('amount');
    const types = (invalid.json.details as Array<{ type: string }>).map((d) => d.type);
    expect(types).toEqual(['google.rpc.ErrorInfo', 'google.rpc.BadRequest']);
    expect(invalid.json.details[0].debug).toMatchObject({ reason: 'INVALID_ARGUMENT', domain: 'saldo' });

    const short = await post('BookUsage', {
      idempotency_key: 'door-usage-1',
      wallet_id: walletId,
      amount: '999999',
      product_code: 'esign.basic',
    });
    expect(short.status).toBe(400); // Connect maps FAILED_PRECONDITION to HTTP 400
    expect(short.json.code).toBe('failed_precondition');
    expect(short.json.details[0].debug.reason).toBe('INSUFFICIENT_FUNDS');

    const anonymous = await post('GetWallet', { wallet_id: walletId }, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.code).toBe('unauthenticated');
    const stranger = await post('GetWallet', { wallet_id: walletId }, 'not-a-key-0123456789');
    expect(stranger.json.code).toBe('unauthenticated');
  }, 60_000);

  it('buf curl through reflection on the door: Connect (HTTP/1.1 and h2c), gRPC-Web and gRPC', async () => {
    const url = `http://${door}/saldo.transaction.v1.TransactionService/GetWallet`;
    const schema = ['--schema', path.join(ROOT, 'proto')]; // HTTP/1.1 cannot stream reflection
    for (const flags of [
      ['--protocol', 'connect', ...schema],
      ['--protocol', 'connect', '--http2-prior-knowledge'],
      ['--protocol', 'grpcweb', '--http2-prior-knowledge'],
      ['--protocol', 'grpc', '--http2-prior-knowledge'],
    ]) {
      expect({ flags, answer: await bufCurl(url, { wallet_id: walletId }, flags) }).toMatchObject({
        flags,
        answer: { walletId, postedBalance: '12000' },
      });
    }
    expect(
      await bufCurl(`http://${door}/grpc.health.v1.Health/Check`, {}, [
        '--protocol',
        'connect',
        '--http2-prior-knowledge',
      ]),
    ).toEqual({ status: 'SERVING' });
  }, 60_000);

  it('counts the door’s calls in the same gRPC server metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(
      /saldo_grpc_server_requests_total\{method="saldo\.transaction\.v1\.TransactionService\/TopUp",code="INVALID_ARGUMENT",[^}]*\} [1-9]/,
    );
    expect(text).toMatch(
      /saldo_grpc_server_requests_total\{method="saldo\.transaction\.v1\.TransactionService\/BookUsage",code="FAILED_PRECONDITION",[^}]*\} [1-9]/,
    );
  });
});
