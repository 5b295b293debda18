// The Console's /api from the browser: JSON in and out, the session cookie sent by the browser,
// the CSRF token of the session on every change.
let csrfToken = '';
export const setCsrfToken = (token: string) => {
  csrfToken = token;
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(method !== 'GET' ? { 'X-CSRF-Token': csrfToken } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const data = (await response.json().catch(() => ({}))) as {
    error?: { code: string; message: string; reason?: string };
  };
  if (!response.ok)
    throw new ApiError(
      response.status,
      data.error?.code ?? 'HTTP_' + response.status,
      data.error?.message ?? response.statusText,
      data.error?.reason,
    );
  return data as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
};

export type Role = 'viewer' | 'operator' | 'admin';
export interface Session {
  email: string;
  tenants: Array<{ tenantId: string; role: Role }>;
  csrfToken: string;
}
export interface Wallet {
  walletId: string;
  ownerType: string;
  ownerId: string;
  currency: string;
  currencyScale: number;
  role: string;
  parentWalletId: string;
  postedBalance: string;
  pendingDebits: string;
  availableBalance: string;
  confirmedBalance: string;
  shadowBalance: string;
  overdraftLimit: string;
  spendLimit: string;
  periodSpent: string;
  version: string;
  metadata: Record<string, string>;
  createdAt: string | null;
}
export interface WalletHit {
  walletId: string;
  ownerType: string;
  ownerId: string;
  currency: string;
  role: string;
  parentWalletId: string | null;
  createdAt: string;
}
export interface Transaction {
  transactionId: string;
  type: string;
  status: string;
  walletId: string;
  fundingWalletId: string;
  amount: string;
  currency: string;
  createdAt: string | null;
  counterpartyWalletId: string;
  productCode: string;
  costAmount: string;
  reference: string;
  relatedTransactionId: string;
  resolvedByTransactionId: string;
  expiresAt: string | null;
  idempotencyKey: string;
  replayed: boolean;
}
export interface LedgerEntry {
  entryId: string;
  accountId: string;
  side: string;
  phase: string;
  amount: string;
  createdAt: string | null;
  postedBalanceAfter: string;
  availableBalanceAfter: string;
}
export interface ConnectorHealth {
  connector: string;
  backlog: number;
  inFlight: number;
  failed: number;
  dead: number;
  lastSuccessAt: string | null;
  writesLastHour: number;
  errorsLastHour: number;
  throttledLastHour: number;
  limiter: {
    inFlight: number | null;
    limit: number | null;
    queued: number | null;
    pausedSeconds: number | null;
  } | null;
}
export interface DeadLetter {
  id: string;
  connector: string;
  kind: string;
  recordKey: string;
  attempts: number;
  reason: string;
  lastError: string | null;
  updatedAt: string;
}
export interface ErpDocument {
  documentId: string;
  documentType: string;
  transactionId: string;
  state: string;
  erpStatus: string | null;
  polls: number;
  lastError: string | null;
  createdAt: string;
}
export interface AuditEntry {
  id: string;
  at: string;
  userEmail: string;
  action: string;
  target: string;
  outcome: string;
  detail: Record<string, unknown>;
}

/** Minor units as the currency's major units, exactly (no floating point): "12345", 2 → "123.45". */
export function formatMoney(minor: string, scale: number, currency?: string): string {
  if (minor === '' || !/^-?\d+$/.test(minor)) return '—';
  const negative = minor.startsWith('-');
  const digits = (negative ? minor.slice(1) : minor).padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const text = scale > 0 ? `${whole}.${digits.slice(digits.length - scale)}` : whole;
  return `${negative ? '−' : ''}${text}${currency ? ` ${currency}` : ''}`;
}

export const formatTime = (iso: string | null | undefined) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : '—';

export const newIdempotencyKey = () => crypto.randomUUID();
