import { logFailure } from '@saldo/faults';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@saldo/logging';
import type { ShadowConfirmer } from '../shadow/shadow-confirmer';
import { verifySignedWebhook, verifyZendeskWebhook } from './zendesk-signature';

export const ERP_DOCUMENT_WEBHOOK_PATH = '/webhooks/erp/documents';
export const ZENDESK_WEBHOOK_PATH = '/webhooks/zendesk';
export const ERP_SIGNATURE_HEADER = 'x-saldo-webhook-signature';
export const ERP_TIMESTAMP_HEADER = 'x-saldo-webhook-signature-timestamp';
const MAX_BODY_BYTES = 64 * 1024;
const DOCUMENT_ID = /^[A-Za-z0-9_.:/-]{1,64}$/;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface WebhookServerOptions {
  host: string;
  port: number;
  toleranceS: number;
  /** ERP document webhooks (404 when unset). */
  erpSecret?: string;
  /** Zendesk webhooks (404 when unset). */
  zendeskSecret?: string;
  /**
   * Called after a Zendesk delivery is verified (the integration hub reads Zendesk's changes now).
   * The body is not believed: a delivery can only cause a read of the vendor's own data.
   */
  onZendeskEvent?: () => void;
}

export interface WebhookServer {
  url: string;
  close(): Promise<void>;
  readonly stats: { accepted: number; refused: number };
}

/**
 * The public webhook door, apart from the metrics port. Every delivery is verified (HMAC-SHA256
 * of timestamp + raw body, constant-time compare, timestamp tolerance) before its body is even
 * parsed; a bad one is 401 and changes nothing.
 * - POST /webhooks/erp/documents `{"tenant":"acme","documentId":"INV-1001"}`: the ERP says a
 *   document changed; erp-sync reads its status from the ERP (SuiteQL) now. 202 with the state.
 * - POST /webhooks/zendesk: verified and acknowledged (204); no Zendesk event moves money; with the
 *   integration hub on, it makes the hub read Zendesk's changes now (debounced).
 */
export async function startWebhookServer(
  options: WebhookServerOptions,
  confirmer: ShadowConfirmer | undefined,
  logger: Logger,
): Promise<WebhookServer> {
  const stats = { accepted: 0, refused: 0 };
  const refuse = (response: ServerResponse, status: number, reason: string) => {
    stats.refused += 1;
    logger.warn({ status, reason }, 'webhook refused');
    send(response, status, { error: reason });
  };
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0];
    const secret =
      path === ERP_DOCUMENT_WEBHOOK_PATH
        ? options.erpSecret
        : path === ZENDESK_WEBHOOK_PATH
          ? options.zendeskSecret
          : undefined;
    if (!secret) return send(response, 404, { error: 'not found' });
    if (request.method !== 'POST') return send(response, 405, { error: 'method not allowed' });
    const body = await readBody(request);
    if (!body) return refuse(response, 413, `body larger than ${MAX_BODY_BYTES} bytes`);
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const verdict =
      path === ZENDESK_WEBHOOK_PATH
        ? verifyZendeskWebhook({
            signingSecret: secret,
            signature: header('x-zendesk-webhook-signature'),
            timestamp: header('x-zendesk-webhook-signature-timestamp'),
            rawBody: body,
            toleranceS: options.toleranceS,
          })
        : verifySignedWebhook({
            signingSecret: secret,
            signature: header(ERP_SIGNATURE_HEADER),
            timestamp: header(ERP_TIMESTAMP_HEADER),
            rawBody: body,
            toleranceS: options.toleranceS,
            headerName: 'X-Saldo-Webhook-Signature',
          });
    if (!verdict.ok) return refuse(response, 401, verdict.reason);
    stats.accepted += 1;
    if (path === ZENDESK_WEBHOOK_PATH) {
      logger.info({ bytes: body.length }, 'Zendesk webhook verified');
      options.onZendeskEvent?.();
      response.writeHead(204).end();
      return;
    }
    let payload: { tenant?: unknown; documentId?: unknown };
    try {
      payload = JSON.parse(body.toString('utf8')) as typeof payload;
    } catch {
      return refuse(response, 400, 'body is not JSON');
    }
    if (
      typeof payload.tenant !== 'string' ||
      !TENANT.test(payload.tenant) ||
      typeof payload.documentId !== 'string' ||
      !DOCUMENT_ID.test(payload.documentId)
    )
      return refuse(response, 400, 'expected {"tenant": "...", "documentId": "..."}');
    if (!confirmer) return refuse(response, 503, 'shadow confirmation is disabled');
    const row = await confirmer.checkNow(payload.tenant, payload.documentId);
    if (!row) return send(response, 404, { error: `document ${payload.documentId} is not watched` });
    send(response, 202, { documentId: row.document_id, state: row.state, erpStatus: row.erp_status });
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A dependency outage (@saldo/faults) is 503: the vendor redelivers the webhook later.
      const fault = logFailure(logger, error, {}, 'webhook failed');
      if (!response.headersSent)
        send(response, fault ? 503 : 500, { error: fault ? 'temporarily unavailable' : 'internal error' });
      else response.destroy();
    });
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${address.port}`,
    stats,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** The raw body (what the signature covers), or undefined when it is too large. */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
