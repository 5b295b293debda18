import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Zendesk webhook authenticity: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(signing secret,
 * `X-Zendesk-Webhook-Signature-Timestamp` + raw body)). Checked in constant time, and the
 * timestamp must be recent (a replayed old delivery is refused). Nothing in a webhook is trusted
 * before this returns ok. (Verifier only: no webhook endpoint is served yet — see docs/erp-sync.md.)
 */
export type WebhookVerdict = { ok: true } | { ok: false; reason: string };

export function verifyZendeskWebhook(input: {
  signingSecret: string;
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer | string;
  nowMs?: number;
  toleranceS?: number;
}): WebhookVerdict {
  if (!input.signature || !input.timestamp) return { ok: false, reason: 'missing X-Zendesk-Webhook-Signature or -Timestamp' };
  const at = Date.parse(input.timestamp);
  if (Number.isNaN(at)) return { ok: false, reason: 'unreadable signature timestamp' };
  const skewS = Math.abs((input.nowMs ?? Date.now()) - at) / 1000;
  if (skewS > (input.toleranceS ?? 300)) return { ok: false, reason: `signature timestamp is ${Math.round(skewS)} s away from now` };
  const body = typeof input.rawBody === 'string' ? Buffer.from(input.rawBody, 'utf8') : input.rawBody;
  const expected = createHmac('sha256', input.signingSecret).update(input.timestamp).update(body).digest();
  const given = Buffer.from(input.signature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
