// The public TransactionService as the CLI calls it, and gRPC failures turned into sentences an
// operator can act on (status + the saldo-error-code / saldo-error-field trailers + the
// google.rpc.Status details).
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  createGrpcClient,
  decodeStatusDetails,
  ERROR_CODE_METADATA_KEY,
  ERROR_FIELD_METADATA_KEY,
  type PromiseClientOf,
} from '@saldo/grpc-kit';
import { exitCodeOfStatus, RETRY_AFTER_METADATA_KEY } from '@saldo/faults';
import { protoFile, protoRoot, type transactionV1 } from '@saldo/proto';
import type { CliContext } from './context';

export type TransactionApi = PromiseClientOf<transactionV1.TransactionServiceClient>;

export function openApi(ctx: CliContext): { api: TransactionApi; close(): void } {
  const handle = createGrpcClient<TransactionApi>({
    protoPath: protoFile('saldo/transaction/v1/transaction.proto'),
    includeDirs: [protoRoot()],
    serviceName: 'saldo.transaction.v1.TransactionService',
    address: ctx.target,
    token: ctx.apiKey(),
    defaultDeadlineMs: ctx.deadlineMs,
    credentials: ctx.tls ? credentials.createSsl() : credentials.createInsecure(),
  });
  return { api: handle.client, close: handle.close };
}

/** A failed call, explained. `exitCode` 1: refused or failed; 3: unreachable, busy or out of time (retry with the same key). */
export class ApiFailure extends Error {
  constructor(
    readonly sentence: string,
    readonly grpcStatus: string,
    readonly reason: string | undefined,
    readonly field: string | undefined,
    readonly serverMessage: string,
    readonly exitCode: number,
  ) {
    super(sentence);
  }

  toJSON(): Record<string, unknown> {
    return {
      error: {
        message: this.sentence,
        status: this.grpcStatus,
        reason: this.reason ?? null,
        field: this.field ?? null,
        detail: this.serverMessage,
      },
    };
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'metadata' in error
  );
}

/** Turns a gRPC error into an ApiFailure whose message reads as a sentence. */
export function explain(error: ServiceError, target: string): ApiFailure {
  const bin = error.metadata?.get('grpc-status-details-bin')[0];
  const details = Buffer.isBuffer(bin) ? decodeStatusDetails(bin) : undefined;
  const reason = details?.reason || metadataText(error, ERROR_CODE_METADATA_KEY);
  const field = details?.fieldViolations[0]?.field || metadataText(error, ERROR_FIELD_METADATA_KEY);
  const message = (error.details || details?.message || '').trim();
  const statusName = (status[error.code] as string | undefined) ?? String(error.code);
  const retryAfterMs = metadataText(error, RETRY_AFTER_METADATA_KEY);
  const sentence = sentenceFor(error.code, reason, field, message, target, retryAfterMs);
  // 3 "retry with the same key" for every status @saldo/faults calls retryable.
  return new ApiFailure(sentence, statusName, reason, field, message, exitCodeOfStatus(error.code));
}

function metadataText(error: ServiceError, key: string): string | undefined {
  const value = error.metadata?.get(key)[0];
  return typeof value === 'string' && value ? value : undefined;
}

/** "insufficient funds: …" → "Insufficient funds: …." */
function asSentence(text: string): string {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  if (!trimmed) return '';
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function sentenceFor(
  code: status,
  reason: string | undefined,
  field: string | undefined,
  message: string,
  target: string,
  retryAfterMs?: string,
): string {
  const said = asSentence(message);
  switch (reason) {
    case 'INSUFFICIENT_FUNDS':
      return `Refused: the wallet does not have enough available balance. ${said}`;
    case 'SPEND_LIMIT_EXCEEDED':
      return `Refused: this would pass the member's spend limit for the period. ${said}`;
    case 'IDEMPOTENCY_CONFLICT':
      return `Refused: this idempotency key was already used for a different request; use a new key (or omit --idempotency-key to get one). ${said}`;
    default:
      break;
  }
  switch (code) {
    case status.INVALID_ARGUMENT: {
      // "wallet_id: must be a UUID" → "wallet_id must be a UUID." (an identifier keeps its case)
      const prefix = field ? `${field}:` : '';
      if (prefix && message.startsWith(prefix)) {
        const rest = message
          .slice(prefix.length)
          .trim()
          .replace(/[.!?]?$/, '.');
        return `The request was refused: ${field} ${rest}`;
      }
      return field ? `The request was refused (${field}): ${said}` : `The request was refused: ${said}`;
    }
    case status.NOT_FOUND:
      return `Not found: ${said}`;
    case status.ALREADY_EXISTS:
      return `Refused: ${said}`;
    case status.FAILED_PRECONDITION:
      return `Refused: ${said}`;
    case status.UNAUTHENTICATED:
      return `The API key was not accepted (${message || 'unauthenticated'}); pass --api-key or set SALDO_API_KEY.`;
    case status.PERMISSION_DENIED:
      return `This API key may not do that: ${said}`;
    case status.ABORTED:
      return `A concurrent change got in the way; run the same command again (same idempotency key). ${said}`;
    case status.UNAVAILABLE:
      return /No connection established|ECONNREFUSED|connect/i.test(message)
        ? `Cannot reach the Saldo API at ${target}: is it running (\`npm start\`), and is --target right?`
        : `The Saldo API at ${target} is unavailable right now; retry the same command (same idempotency key). ${said}`;
    case status.RESOURCE_EXHAUSTED:
      return `The Saldo API at ${target} is busy; retry the same command (same idempotency key)${retryAfterMs ? ` in ${Math.ceil(Number(retryAfterMs) / 1000)} s` : ' shortly'}. ${said}`;
    case status.DEADLINE_EXCEEDED:
      return `The Saldo API at ${target} did not answer in time; retry the same command (same idempotency key) — it will not post twice.`;
    default:
      return `The Saldo API failed (${(status[code] as string | undefined) ?? code}): ${said || 'no detail'}`;
  }
}
