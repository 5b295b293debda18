// Issue 11 #8 on the real processes: API keys carry scopes (wallets:read, wallets:write,
// erp:resolve) and an optional expiry. ResolveErpDocument needs erp:resolve — a tenant's ordinary
// key (today's rights) can no longer confirm, reject or write off documents; erp-sync's key
// (given `;scopes=erp:resolve` in SALDO_API_KEYS, as `npm start` does) can, and nothing else.
// `api-keys create --scope … --expires …` makes narrower keys; an expired key is UNAUTHENTICATED.
import { status } from '@grpc/grpc-js';
import { Api, apiKey, cli, sql, startStack, tenantId, type Stack } from '@saldo/test-support';

const TENANT = tenantId('scopes');
const KEY = apiKey();
const ERP_KEY = apiKey();
const READ_KEY = apiKey();

let stack: Stack;
let api: Api;

beforeAll(async () => {
  stack = await startStack('agg_scopes', {
    SALDO_API_KEYS: `${TENANT}=${KEY},${TENANT}=${ERP_KEY};scopes=erp:resolve,${TENANT}=${READ_KEY};scopes=wallets:read`,
  });
  api = new Api(stack.aggregatorTarget, KEY);
}, 120_000);

afterAll(async () => {
  api?.close();
  await stack?.stop();
});

it('ResolveErpDocument needs erp:resolve; each key can do what its scopes say and nothing else', async () => {
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: 'scopes-open',
    ownerType: 'PERSONAL',
    ownerId: 'alice',
    currency: 'USD',
    metadata: {},
  });
  await api.call('TopUp', {
    idempotencyKey: 'scopes-doc',
    walletId: wallet.walletId,
    amount: '5000',
    erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE',
    erpDocumentId: 'INV-SCOPES-1',
    metadata: {},
  });
  const resolve = { erpDocumentId: 'INV-SCOPES-1', outcome: 'ERP_DOCUMENT_OUTCOME_CONFIRMED', reason: '' };

  // The tenant's ordinary key: wallets yes, ERP verdicts no.
  const denied = await api.fail('ResolveErpDocument', resolve);
  expect(denied.code).toBe(status.PERMISSION_DENIED);
  expect(denied.message).toMatch(/erp:resolve/);

  // erp-sync's key: ERP verdicts only.
  const confirmed = await api.call('ResolveErpDocument', resolve, ERP_KEY);
  expect(confirmed.state).toBe('ERP_DOCUMENT_STATE_CONFIRMED');
  expect((await api.fail('GetWallet', { walletId: wallet.walletId }, ERP_KEY)).code).toBe(
    status.PERMISSION_DENIED,
  );
  expect(
    (
      await api.fail(
        'TopUp',
        { idempotencyKey: 'erp-top', walletId: wallet.walletId, amount: '1', metadata: {} },
        ERP_KEY,
      )
    ).code,
  ).toBe(status.PERMISSION_DENIED);

  // A read-only key reads and never writes; its refused write leaves the key free.
  expect((await api.call('GetWallet', { walletId: wallet.walletId }, READ_KEY)).postedBalance).toBe('5000');
  const write = await api.fail(
    'TopUp',
    { idempotencyKey: 'read-top', walletId: wallet.walletId, amount: '1', metadata: {} },
    READ_KEY,
  );
  expect(write.code).toBe(status.PERMISSION_DENIED);
  await api.call('TopUp', {
    idempotencyKey: 'read-top',
    walletId: wallet.walletId,
    amount: '1',
    metadata: {},
  });
}, 60_000);

it('api-keys create --scope/--expires makes narrower keys; an expired key is refused; bad scopes are a usage error', async () => {
  const env = stack.env;
  const created = cli(
    ['api-keys', 'create', '--tenant', TENANT, '--scope', 'wallets:read', '--expires', '1h'],
    env,
  );
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/^scopes: wallets:read$/m);
  expect(created.stdout).toMatch(/^expires: \d{4}-/m);
  const key = /^key:\s+(\S+)$/m.exec(created.stdout)?.[1] as string;
  const id = /^key id:\s+(\S+)$/m.exec(created.stdout)?.[1] as string;
  const wallet = await api.call('OpenWallet', {
    idempotencyKey: 'scopes-open-2',
    ownerType: 'PERSONAL',
    ownerId: 'bob',
    currency: 'USD',
    metadata: {},
  });
  await api.call('GetWallet', { walletId: wallet.walletId }, key);
  const listed = cli(['api-keys', 'list', '--tenant', TENANT], env);
  expect(listed.stdout).toMatch(new RegExp(`${id}.*active\\s+wallets:read\\s+expires `));

  await sql(
    stack.database.url,
    `UPDATE aggregator.api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
    [id],
  );
  const expired = await api.fail('GetWallet', { walletId: wallet.walletId }, key);
  expect(expired.code).toBe(status.UNAUTHENTICATED);
  expect(expired.message).toMatch(/expired/);

  expect(cli(['api-keys', 'create', '--tenant', TENANT, '--scope', 'admin'], env).code).toBe(2);
  expect(cli(['api-keys', 'create', '--tenant', TENANT, '--expires', 'yesterday'], env).code).toBe(2);
  // A key made without --scope has today's rights, not erp:resolve.
  const plain = cli(['api-keys', 'create', '--tenant', TENANT], env);
  expect(plain.stdout).toMatch(/^scopes: wallets:read wallets:write$/m);
}, 90_000);
