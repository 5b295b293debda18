import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook authenticity, one scheme for every sender erp-sync accepts:
 * signature = base64(HMAC-SHA256(signing secret, timestamp + raw body)), compared in constant time,
 * and the timestamp must be recent (a replayed old delivery is refused). It is Zendesk's scheme
 * (`X-Zendesk-Webhook-Signature`, `X-Zendesk-Webhook-Signature-Timestamp`); the ERP document webhook
 * uses it with its own headers and secret. Nothing in a webhook is trusted before this returns ok.
 */
export type WebhookVerdict = { ok: true } | { ok: false; reason: string };

export interface SignedDelivery {
  signingSecret: string;
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer | string;
  nowMs?: number;
  toleranceS?: number;
}

export function verifySignedWebhook(input: SignedDelivery & { headerName?: string }): WebhookVerdict {
  const header = input.headerName ?? 'X-Zendesk-Webhook-Signature';
  if (!input.signature || !input.timestamp) return { ok: false, reason: `missing ${header} or -Timestamp` };
  const at = Date.parse(input.timestamp);
  if (Number.isNaN(at)) return { ok: false, reason: 'unreadable signature timestamp' };
  const skewS = Math.abs((input.nowMs ?? Date.now()) - at) / 1000;
  if (skewS > (input.toleranceS ?? 300))
    return { ok: false, reason: `signature timestamp is ${Math.round(skewS)} s away from now` };
  const body = typeof input.rawBody === 'string' ? Buffer.from(input.rawBody, 'utf8') : input.rawBody;
  const expected = createHmac('sha256', input.signingSecret).update(input.timestamp).update(body).digest();
  const given = Buffer.from(input.signature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

/** Zendesk's webhooks: `X-Zendesk-Webhook-Signature` over `X-Zendesk-Webhook-Signature-Timestamp` + body. */
export function verifyZendeskWebhook(input: SignedDelivery): WebhookVerdict {
  return verifySignedWebhook(input);
}
