import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { startStandins, type RunningStandins } from './standins';

let s: RunningStandins;
beforeAll(async () => {
  s = await startStandins({ netsuiteConcurrency: 2, netsuiteAccounts: ['100', '200'] });
});
afterAll(() => s.stop());

const TOKEN_PATH = '/services/rest/auth/oauth2/v1/token';

function assertion(
  privateKeyPem: string,
  overrides: Record<string, unknown> = {},
  kid = s.env['NETSUITE_CERTIFICATE_ID'],
): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'PS256', typ: 'JWT', kid })}.${b64({ iss: s.env['NETSUITE_CLIENT_ID'], scope: ['rest_webservices'], aud: `${s.netsuite.url}${TOKEN_PATH}`, iat: now, exp: now + 3600, ...overrides })}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: privateKeyPem,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  return `${input}.${signature.toString('base64url')}`;
}

async function token(jwt: string): Promise<Response> {
  return fetch(`${s.netsuite.url}${TOKEN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    }),
  });
}

const journal = (account = '100') =>
  '{"subsidiary":{"id":"1"},"currency":{"id":"1"},"trandate":"2026-03-04","custbody_saldo_tenant":"t",' +
  `"line":{"items":[{"account":{"id":"${account}"},"debit":10.10},{"account":{"id":"200"},"credit":10.1}]}}`;

describe('NetSuite stand-in', () => {
  it('issues a token only for a JWT signed by the certificate key, with the right kid, issuer and lifetime', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(await (await token(assertion(other))).json()).toMatchObject({ error: 'invalid_grant' });
    expect(
      await (await token(assertion(s.env['NETSUITE_PRIVATE_KEY']!, {}, 'wrong-kid'))).json(),
    ).toMatchObject({ error: 'invalid_client' });
    expect(
      await (
        await token(assertion(s.env['NETSUITE_PRIVATE_KEY']!, { exp: Math.floor(Date.now() / 1000) - 1 }))
      ).json(),
    ).toMatchObject({ error: 'invalid_grant' });
    const ok = await token(assertion(s.env['NETSUITE_PRIVATE_KEY']!));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      token_type: 'bearer',
      expires_in: '3600',
      access_token: expect.any(String),
    });
  });

  it('upserts by external id, refuses bad references and unbalanced entries with o:errorDetails, limits concurrency', async () => {
    const bearer = (
      (await (await token(assertion(s.env['NETSUITE_PRIVATE_KEY']!))).json()) as { access_token: string }
    ).access_token;
    const put = (body: string, headers: Record<string, string> = { authorization: `Bearer ${bearer}` }) =>
      fetch(`${s.netsuite.url}/services/rest/record/v1/journalEntry/eid:je-1?replace=line`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const anonymous = await put(journal(), {});
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ 'o:errorDetails': [{ 'o:errorCode': 'INVALID_LOGIN' }] });
    const first = await put(journal());
    expect(first.status).toBe(204);
    const second = await put(journal());
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(s.netsuite.journals.get('je-1')).toMatchObject({
      writes: 2,
      lines: [{ debit: '10.10' }, { credit: '10.1' }],
    });
    const bad = await put(journal('999'));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      'o:errorDetails': [{ 'o:errorCode': 'INVALID_KEY_OR_REF', 'o:errorPath': 'line.items[0].account' }],
    });
    const unbalanced = await put(journal().replace('"credit":10.1', '"credit":10.11'));
    expect(unbalanced.status).toBe(400);

    s.netsuite.setLatency(200);
    const answers = await Promise.all([1, 2, 3, 4].map(() => put(journal())));
    s.netsuite.setLatency(0);
    expect(answers.map((a) => a.status).sort()).toEqual([204, 204, 429, 429]);
    expect(await answers.find((a) => a.status === 429)!.json()).toMatchObject({
      'o:errorDetails': [{ 'o:errorCode': 'CONCURRENCY_LIMIT_EXCEEDED' }],
    });

    const suiteql = (prefer: Record<string, string>) =>
      fetch(`${s.netsuite.url}/services/rest/query/v1/suiteql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...prefer },
        body: JSON.stringify({
          q: "SELECT t.currency AS currency, tl.account AS account, SUM(tl.debitforeignamount) AS debit, SUM(tl.creditforeignamount) AS credit FROM transaction t INNER JOIN transactionline tl ON tl.transaction = t.id WHERE t.type = 'Journal' AND t.custbody_saldo_tenant = 't' AND t.trandate = TO_DATE('2026-03-04', 'YYYY-MM-DD') GROUP BY t.currency, tl.account",
        }),
      });
    expect((await suiteql({})).status).toBe(400);
    expect(await (await suiteql({ prefer: 'transient' })).json()).toMatchObject({
      items: [
        { account: '100', debit: '10.1', credit: '0' },
        { account: '200', debit: '0', credit: '10.1' },
      ],
      hasMore: false,
    });
  });
});

describe('CRM stand-ins', () => {
  it('Zendesk: API token auth, create then update by external_id, 429 with Retry-After past its rate', async () => {
    const auth = `Basic ${Buffer.from(`${s.env['ZENDESK_EMAIL']}/token:${s.env['ZENDESK_API_TOKEN']}`).toString('base64')}`;
    const post = (authorization: string, fields: Record<string, string> = { saldo_balance: '1' }) =>
      fetch(`${s.zendesk.url}/api/v2/users/create_or_update`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ user: { name: 'A', external_id: 'a', user_fields: fields } }),
      });
    expect((await post('Basic bad')).status).toBe(401);
    expect((await post(auth)).status).toBe(201);
    expect((await post(auth)).status).toBe(200);
    expect((await post(auth, { nope: '1' })).status).toBe(422);
    const limited = await post(auth);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('ActiveCampaign: Api-Token, contact sync by e-mail with known field ids only', async () => {
    const post = (token: string, contact: unknown) =>
      fetch(`${s.activecampaign.url}/api/3/contact/sync`, {
        method: 'POST',
        headers: { 'api-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ contact }),
      });
    expect((await post('bad', { email: 'a@b.co' })).status).toBe(403);
    const token = s.env['ACTIVECAMPAIGN_API_TOKEN']!;
    expect((await post(token, { email: 'a@b.co', fieldValues: [{ field: '1', value: '5' }] })).status).toBe(
      201,
    );
    expect((await post(token, { email: 'A@b.co', fieldValues: [{ field: '1', value: '6' }] })).status).toBe(
      200,
    );
    expect(s.activecampaign.contacts.get('a@b.co')!.fieldValues['1']).toBe('6');
    expect(await (await post(token, { email: 'not-an-email' })).json()).toMatchObject({
      errors: [{ code: 'email_invalid' }],
    });
    expect((await post(token, { email: 'a@b.co', fieldValues: [{ field: '99', value: 'x' }] })).status).toBe(
      422,
    );
  });
});
