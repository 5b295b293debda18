import { constants, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';

/**
 * NetSuite OAuth 2.0 client credentials (machine to machine): a JWT signed with the private key of
 * the certificate uploaded to NetSuite (PS256 for RSA keys, ES256 for EC P-256 keys; NetSuite no
 * longer accepts RS256), exchanged at /services/rest/auth/oauth2/v1/token for a bearer token that
 * lasts an hour. The token is cached and renewed a minute before it lapses, or at once after a 401.
 */
export const TOKEN_PATH = '/services/rest/auth/oauth2/v1/token';

export interface NetSuiteCredentials {
  baseUrl: string;
  clientId: string;
  certificateId: string;
  privateKeyPem: string;
  scopes: readonly string[];
}

export class NetSuiteAuthError extends Error {}

export function signClientAssertion(credentials: NetSuiteCredentials, nowMs: number = Date.now()): string {
  const key = loadKey(credentials.privateKeyPem);
  const alg = key.asymmetricKeyType === 'ec' ? 'ES256' : 'PS256';
  const iat = Math.floor(nowMs / 1000);
  const header = { alg, typ: 'JWT', kid: credentials.certificateId };
  const payload = {
    iss: credentials.clientId,
    scope: credentials.scopes,
    aud: new URL(TOKEN_PATH, credentials.baseUrl).toString(),
    iat,
    exp: iat + 3600,
    jti: randomUUID(),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature =
    alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        });
  return `${input}.${signature.toString('base64url')}`;
}

function loadKey(pem: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec')
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
    return key;
  } catch (error) {
    throw new NetSuiteAuthError(
      `NETSUITE_PRIVATE_KEY is not a usable RSA or EC private key: ${(error as Error).message}`,
    );
  }
}

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

export class NetSuiteTokenSource {
  private token: { value: string; expiresAt: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly credentials: NetSuiteCredentials,
    private readonly timeoutMs: number,
  ) {}

  async get(): Promise<string> {
    if (this.token && this.token.expiresAt - 60_000 > Date.now()) return this.token.value;
    this.inFlight ??= this.fetchToken().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(): Promise<string> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signClientAssertion(this.credentials),
    });
    let res: Response;
    try {
      res = await fetch(new URL(TOKEN_PATH, this.credentials.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new NetSuiteAuthError(`NetSuite token endpoint unreachable: ${(error as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok)
      throw new NetSuiteAuthError(
        `NetSuite refused the client credentials (${res.status}): ${text.slice(0, 500)}`,
      );
    const json = JSON.parse(text) as { access_token?: string; expires_in?: string | number };
    if (!json.access_token) throw new NetSuiteAuthError('NetSuite token response has no access_token');
    const ttlS = Number(json.expires_in ?? 3600);
    this.token = {
      value: json.access_token,
      expiresAt: Date.now() + (Number.isFinite(ttlS) ? ttlS : 3600) * 1000,
    };
    return json.access_token;
  }
}
