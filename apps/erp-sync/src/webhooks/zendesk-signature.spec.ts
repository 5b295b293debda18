import { createHmac } from 'node:crypto';
import { verifyZendeskWebhook } from './zendesk-signature';

const secret = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==';
const timestamp = '2026-03-04T10:00:00Z';
const body = '{"type":"zen:event-type:user.updated","detail":{"id":"1"}}';
const signature = createHmac('sha256', secret)
  .update(timestamp + body)
  .digest('base64');
const now = Date.parse(timestamp) + 10_000;

describe('Zendesk webhook signature', () => {
  it('accepts the signature of timestamp + body', () => {
    expect(
      verifyZendeskWebhook({ signingSecret: secret, signature, timestamp, rawBody: body, nowMs: now }),
    ).toEqual({ ok: true });
  });

  it('refuses a changed body, a wrong secret, a missing header and an old timestamp', () => {
    expect(
      verifyZendeskWebhook({ signingSecret: secret, signature, timestamp, rawBody: `${body} `, nowMs: now }),
    ).toMatchObject({ ok: false, reason: 'signature does not match' });
    expect(
      verifyZendeskWebhook({ signingSecret: 'other', signature, timestamp, rawBody: body, nowMs: now }),
    ).toMatchObject({ ok: false });
    expect(
      verifyZendeskWebhook({
        signingSecret: secret,
        signature: undefined,
        timestamp,
        rawBody: body,
        nowMs: now,
      }),
    ).toMatchObject({ ok: false });
    expect(
      verifyZendeskWebhook({
        signingSecret: secret,
        signature,
        timestamp,
        rawBody: body,
        nowMs: now + 3_600_000,
      }),
    ).toMatchObject({ ok: false, reason: expect.stringContaining('away from now') });
  });
});
