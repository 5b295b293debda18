// The Saldo client: every TransactionService method, typed from proto/, over any Connect transport
// (gRPC or Connect from Node, Connect or gRPC-Web from a browser). Adds what every caller needs and
// should not write again: the API key as a bearer token, one deadline per call (all attempts
// together), retries of UNAVAILABLE / ABORTED / RESOURCE_EXHAUSTED with exponential backoff and
// full jitter under the SAME idempotency key (generated once per call when the caller gives none),
// and amounts as bigint or decimal strings.
import type { DescMethodUnary, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { RETRYABLE_CODES, SaldoError } from './errors';
import { TransactionService } from './gen/saldo/transaction/v1/transaction_pb';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). Default 4. */
  maxAttempts?: number;
  /** Backoff before the first retry; doubles each time, up to maxBackoffMs. Default 100. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface SaldoClientOptions {
  /** From createNodeTransport (@saldo/client/node) or createWebTransport (@saldo/client/web). */
  transport: Transport;
  /** The tenant's API key, sent as `authorization: Bearer <key>` (a function is asked per call). */
  apiKey?: string | (() => string);
  /** Deadline of one call, all its attempts together. Default 15000. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Told before each retry (logging, tests). */
  onRetry?: (event: { method: string; attempt: number; delayMs: number; error: SaldoError }) => void;
}

export interface CallOptions {
  /** The write's idempotency key; default: the request's, else one generated for this call. */
  idempotencyKey?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** Request fields that hold an amount of minor units: a bigint or a decimal string. */
type AmountField = 'amount' | 'costAmount' | 'overdraftLimit' | 'spendLimit';
type WithAmounts<T> = { [K in keyof T]: K extends AmountField ? string | bigint : T[K] };

type Methods = typeof TransactionService.method;
type UnaryOf<M> = M extends DescMethodUnary<infer I, infer O> ? { input: I; output: O } : never;

export type SaldoRequest<K extends keyof Methods> = WithAmounts<
  MessageInitShape<UnaryOf<Methods[K]>['input']>
>;
export type SaldoResponse<K extends keyof Methods> = MessageShape<UnaryOf<Methods[K]>['output']>;

export type SaldoClient = {
  [K in keyof Methods]: (request: SaldoRequest<K>, options?: CallOptions) => Promise<SaldoResponse<K>>;
};

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_RETRY: Required<RetryPolicy> = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2_000 };
const MAX_ATTEMPTS = 50;

export function createSaldoClient(options: SaldoClientOptions): SaldoClient {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  if (!(retry.maxAttempts >= 1 && retry.maxAttempts <= MAX_ATTEMPTS))
    throw new RangeError(`retry.maxAttempts must be 1..${MAX_ATTEMPTS}`);
  const raw = createClient(TransactionService, options.transport) as unknown as Record<
    string,
    (request: object, options: object) => Promise<unknown>
  >;
  const client: Record<string, unknown> = {};
  for (const method of TransactionService.methods) {
    const takesKey = method.input.fields.some((field) => field.name === 'idempotency_key');
    const call = raw[method.localName] as (request: object, options: object) => Promise<unknown>;
    client[method.localName] = async (request: Record<string, unknown>, callOptions: CallOptions = {}) => {
      const input = withStringAmounts(request);
      if (takesKey)
        input['idempotencyKey'] = callOptions.idempotencyKey ?? input['idempotencyKey'] ?? newKey();
      const deadline = Date.now() + (callOptions.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const key = typeof options.apiKey === 'function' ? options.apiKey() : options.apiKey;
      const headers = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...callOptions.headers };
      for (let attempt = 1; ; attempt += 1) {
        const remaining = deadline - Date.now();
        try {
          return await call.call(raw, input, {
            timeoutMs: Math.max(1, remaining),
            signal: callOptions.signal,
            headers,
          });
        } catch (error) {
          const failure = new SaldoError(ConnectError.from(error), attempt);
          const delayMs = backoff(retry, attempt);
          const retryable = RETRYABLE_CODES.has(failure.code) && !callOptions.signal?.aborted;
          if (!retryable || attempt >= retry.maxAttempts || Date.now() + delayMs >= deadline) throw failure;
          options.onRetry?.({ method: method.name, attempt, delayMs, error: failure });
          await sleep(delayMs, callOptions.signal);
        }
      }
    };
  }
  return client as SaldoClient;
}

/** Full jitter: a random delay up to min(max, initial · 2^(attempt-1)). */
function backoff(policy: Required<RetryPolicy>, attempt: number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return Math.round(Math.random() * ceiling);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A fresh idempotency key (crypto.randomUUID: Node ≥ 19 and every current browser). */
function newKey(): string {
  return `sdk-${globalThis.crypto.randomUUID()}`;
}

/** Bigint amounts as the wire's decimal strings (nested messages untouched: requests are flat). */
function withStringAmounts(request: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request ?? {}))
    copy[name] = typeof value === 'bigint' ? value.toString() : value;
  return copy;
}
