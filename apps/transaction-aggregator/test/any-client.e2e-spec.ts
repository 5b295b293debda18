// Any client works on the first try (issue 12): generic tools find the API through server
// reflection alone, with the README's exact snake_case JSON. `buf curl` here is the same binary
// `npx buf curl` runs (the workspace's @bufbuild/buf), asked nothing but the URL: no --schema.
import { apiKey, ROOT, startStack, tenantId, type Stack } from '@saldo/test-support';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const TENANT = tenantId('anyclient');
const KEY = apiKey();
const BUF = path.join(ROOT, 'node_modules/.bin/buf');

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('anyclient', { SALDO_API_KEYS: `${TENANT}=${KEY}` });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

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
