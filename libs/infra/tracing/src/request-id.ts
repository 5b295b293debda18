import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The metadata key (gRPC) and header (HTTP) that carries a request id between services. */
export const REQUEST_ID_KEY = 'x-request-id';

const storage = new AsyncLocalStorage<string>();
const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Runs `work` with a request id: the caller's when it sent a usable one, else a new one. Every log
 * line written meanwhile carries it (see requestFields), and outgoing gRPC calls pass it on, so one
 * id follows a request through the aggregator and the ledger, with or without tracing.
 */
export function withRequestId<T>(incoming: string | undefined, work: () => T): T {
  const id = incoming && VALID.test(incoming) ? incoming : randomUUID();
  return storage.run(id, work);
}

export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/** `{ request_id }` while a request is being handled, for log lines. */
export function requestFields(): { request_id?: string } {
  const id = storage.getStore();
  return id ? { request_id: id } : {};
}
