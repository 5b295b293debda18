import { Firestore } from '@google-cloud/firestore';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * firestore.rules against the real emulator, which evaluates them for requests that carry a
 * Firebase Auth ID token (the emulator accepts unsigned tokens). Documents are seeded with the
 * server SDK, which bypasses the rules, as the mirror does.
 */
jest.setTimeout(60_000);

const host = process.env['FIRESTORE_EMULATOR_HOST'] ?? '';
const projectId = `saldo-rules-${randomUUID().slice(0, 8)}`;
const base = `http://${host}/v1/projects/${projectId}/databases/(default)/documents`;

type Claims = Record<string, unknown>;

function idToken(uid: string, claims: Claims = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = {
    iss: `https://securetoken.google.com/${projectId}`,
    aud: projectId,
    sub: uid,
    user_id: uid,
    iat: now,
    exp: now + 3600,
    auth_time: now,
    firebase: { sign_in_provider: 'custom', identities: {} },
    ...claims,
  };
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`;
}

async function request(
  method: string,
  url: string,
  user: { uid: string; claims?: Claims } | null,
  body?: unknown,
): Promise<number> {
  const response = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(user ? { authorization: `Bearer ${idToken(user.uid, user.claims)}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await response.text();
  return response.status;
}

const get = (docPath: string, user: { uid: string; claims?: Claims } | null) =>
  request('GET', `${base}/${docPath}`, user);
const equal = (field: string, value: string) => ({
  fieldFilter: { field: { fieldPath: field }, op: 'EQUAL', value: { stringValue: value } },
});
const listWhereOwner = (
  ownerId: string,
  user: { uid: string; claims?: Claims } | null,
  tenantId: string | undefined = 't1',
) =>
  request('POST', `${base}:runQuery`, user, {
    structuredQuery: {
      from: [{ collectionId: 'wallets' }],
      where:
        tenantId === undefined
          ? equal('ownerId', ownerId)
          : {
              compositeFilter: {
                op: 'AND',
                filters: [equal('tenantId', tenantId), equal('ownerId', ownerId)],
              },
            },
    },
  });
const listAll = (user: { uid: string; claims?: Claims } | null) =>
  request('POST', `${base}:runQuery`, user, { structuredQuery: { from: [{ collectionId: 'wallets' }] } });

describe('firestore.rules (emulator)', () => {
  let firestore: Firestore;
  const alice = { uid: 'alice', claims: { tenantId: 't1' } };
  const bob = { uid: 'bob', claims: { tenantId: 't1' } };
  // Issue 11 #6: a user of another tenant whose uid happens to equal a t1 owner id.
  const aliceOfT2 = { uid: 'alice', claims: { tenantId: 't2' } };
  const aliceWithoutTenant = { uid: 'alice' };
  const orgAdmin = {
    uid: 'carol',
    claims: { tenantId: 't1', saldo_org: 'org-1', saldo_org_admin: true },
  };
  const otherTenantAdmin = {
    uid: 'dave',
    claims: { tenantId: 't2', saldo_org: 'org-1', saldo_org_admin: true },
  };
  const member = { uid: 'erin', claims: { tenantId: 't1', saldo_org: 'org-1', saldo_org_admin: false } };

  beforeAll(async () => {
    const rules = readFileSync(path.resolve(__dirname, '../../../../firestore.rules'), 'utf8');
    const loaded = await fetch(`http://${host}/emulator/v1/projects/${projectId}:securityRules`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: { files: [{ name: 'firestore.rules', content: rules }] } }),
    });
    expect(loaded.status).toBe(200);
    firestore = new Firestore({ projectId });
    const wallet = (ownerId: string, ownerType: string, parentOwnerId = '') => ({
      tenantId: 't1',
      ownerType,
      ownerId,
      parentOwnerId,
      currency: 'IDR',
      postedBalance: '100',
      pendingDebits: '0',
      availableBalance: '100',
      version: 1,
    });
    await firestore.doc('wallets/w-alice').set(wallet('alice', 'personal'));
    await firestore.doc('wallets/w-alice/transactions/tx-1').set({ walletVersion: 1, postedDelta: '100' });
    await firestore.doc('wallets/w-org').set(wallet('org-1', 'enterprise'));
    await firestore.doc('wallets/w-erin').set(wallet('erin', 'personal', 'org-1'));
    await firestore.doc('wallets/w-other').set(wallet('frank', 'personal', 'org-2'));
    await firestore.doc('other/x').set({ a: 1 });
    // Another tenant's wallet whose owner id is the same string as a t1 user's uid.
    await firestore.doc('wallets/w-alice-t2').set({ ...wallet('alice', 'personal'), tenantId: 't2' });
  });

  afterAll(async () => {
    await firestore?.terminate();
  });

  it('lets an app user read their own wallet and its transactions, and query wallets by their uid', async () => {
    expect(await get('wallets/w-alice', alice)).toBe(200);
    expect(await get('wallets/w-alice/transactions/tx-1', alice)).toBe(200);
    expect(await listWhereOwner('alice', alice)).toBe(200);
  });

  it('ties every read to the tenant claim: the same uid in another tenant, or without the claim, reads nothing', async () => {
    expect(await get('wallets/w-alice', aliceOfT2)).toBe(403);
    expect(await get('wallets/w-alice/transactions/tx-1', aliceOfT2)).toBe(403);
    expect(await listWhereOwner('alice', aliceOfT2, 't1')).toBe(403);
    // Her own wallet in her own tenant she reads, and t1's alice does not.
    expect(await get('wallets/w-alice-t2', aliceOfT2)).toBe(200);
    expect(await listWhereOwner('alice', aliceOfT2, 't2')).toBe(200);
    expect(await get('wallets/w-alice-t2', alice)).toBe(403);
    expect(await get('wallets/w-alice', aliceWithoutTenant)).toBe(403);
    expect(await listWhereOwner('alice', aliceWithoutTenant)).toBe(403);
  });

  it('denies everyone else: other users, anonymous callers, queries beyond their own wallets', async () => {
    expect(await get('wallets/w-alice', bob)).toBe(403);
    expect(await get('wallets/w-alice', null)).toBe(403);
    expect(await get('wallets/w-alice/transactions/tx-1', bob)).toBe(403);
    expect(await listWhereOwner('alice', bob)).toBe(403);
    expect(await listAll(alice)).toBe(403);
    expect(await get('other/x', alice)).toBe(403);
  });

  it('lets an organisation admin (custom claims) read the organisation wallet and the wallets under it, within its tenant only', async () => {
    expect(await get('wallets/w-org', orgAdmin)).toBe(200);
    expect(await get('wallets/w-erin', orgAdmin)).toBe(200);
    expect(await get('wallets/w-other', orgAdmin)).toBe(403);
    expect(await get('wallets/w-alice', orgAdmin)).toBe(403);
    expect(await get('wallets/w-org', otherTenantAdmin)).toBe(403);
    // A member reads their own wallet, not the organisation's.
    expect(await get('wallets/w-erin', member)).toBe(200);
    expect(await get('wallets/w-org', member)).toBe(403);
  });

  it('refuses every client write, even by the owner', async () => {
    const patch = { fields: { availableBalance: { stringValue: '999999' } } };
    expect(
      await request('PATCH', `${base}/wallets/w-alice?updateMask.fieldPaths=availableBalance`, alice, patch),
    ).toBe(403);
    expect(
      await request('PATCH', `${base}/wallets/w-new`, alice, {
        fields: { ownerId: { stringValue: 'alice' } },
      }),
    ).toBe(403);
    expect(await request('DELETE', `${base}/wallets/w-alice`, alice)).toBe(403);
    expect(await request('PATCH', `${base}/wallets/w-alice/transactions/tx-2`, alice, patch)).toBe(403);
    expect((await firestore.doc('wallets/w-alice').get()).get('availableBalance')).toBe('100');
  });
});
