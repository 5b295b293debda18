import type { PubSub, Topic } from '@google-cloud/pubsub';

export interface PublishRequest {
  data: Buffer;
  orderingKey: string;
  attributes: Record<string, string>;
}

export type PublishOutcome = { ok: true; messageId: string } | { ok: false; error: Error };

/** Where the relay sends events. Outcomes come back in request order. */
export interface EventPublisher {
  publishAll(requests: readonly PublishRequest[]): Promise<PublishOutcome[]>;
  close(): Promise<void>;
}

export interface PubSubPublisherOptions {
  topicName: string;
  /** Create the topic when it does not exist (local runs and tests; production provisions it). */
  createTopic: boolean;
  /**
   * Upper bound for one publish. The client does not retry on its own (the relay does, with its
   * short backoff): a call that fails fast while Pub/Sub is down leaves nothing in flight that
   * could hold the relay after Pub/Sub returns.
   */
  publishTimeoutMs: number;
}

const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

/**
 * Publishes with message ordering on: Pub/Sub delivers messages with one ordering key in publish
 * order. After a failed publish the client pauses that key (later messages with it fail too, so
 * they cannot overtake); the relay retries from the oldest unpublished row, and this resumes the
 * key first.
 */
export class PubSubEventPublisher implements EventPublisher {
  private readonly topic: Topic;
  private ready: Promise<void> | undefined;

  constructor(
    pubsub: PubSub,
    private readonly options: PubSubPublisherOptions,
  ) {
    this.topic = pubsub.topic(options.topicName, {
      messageOrdering: true,
      batching: { maxMessages: 500, maxMilliseconds: 5, maxBytes: 8 * 1024 * 1024 },
      // No retry inside the client (no retry codes): the relay retries from the oldest row.
      gaxOpts: { timeout: options.publishTimeoutMs, retry: { retryCodes: [] } },
    });
  }

  private ensureTopic(): Promise<void> {
    this.ready ??= (async () => {
      if (!this.options.createTopic) return;
      // One round trip: create, and an existing topic is fine (no exists() first).
      try {
        await this.topic.create();
      } catch (error) {
        if ((error as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw error; // created meanwhile
      }
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async publishAll(requests: readonly PublishRequest[]): Promise<PublishOutcome[]> {
    await this.ensureTopic();
    const outcomes = await this.publishOnce(requests);
    const topicGone = outcomes.some((o) => !o.ok && codeOf(o.error) === GRPC_NOT_FOUND);
    if (!topicGone || !this.options.createTopic) return outcomes;
    // The topic vanished (an emulator restarted empty): create it and publish what failed once
    // more, in the same order, at once rather than after the relay's backoff.
    this.ready = undefined;
    await this.ensureTopic();
    const failed = requests.map((_, i) => i).filter((i) => !outcomes[i]!.ok);
    const retried = await this.publishOnce(failed.map((i) => requests[i]!));
    failed.forEach((index, k) => (outcomes[index] = retried[k]!));
    return outcomes;
  }

  private async publishOnce(requests: readonly PublishRequest[]): Promise<PublishOutcome[]> {
    const outcomes = await Promise.all(
      requests.map((request) =>
        withTimeout(
          this.topic.publishMessage({
            data: request.data,
            orderingKey: request.orderingKey,
            attributes: request.attributes,
          }),
          this.options.publishTimeoutMs,
        ).then(
          (messageId): PublishOutcome => ({ ok: true, messageId }),
          (error: unknown): PublishOutcome => ({
            ok: false,
            error: error instanceof Error ? error : new Error(String(error)),
          }),
        ),
      ),
    );
    const pausedKeys = new Set(
      requests.filter((_, i) => !outcomes[i]!.ok).map((request) => request.orderingKey),
    );
    for (const key of pausedKeys) if (key) this.topic.resumePublishing(key);
    return outcomes;
  }

  async close(): Promise<void> {
    await this.topic.flush().catch(() => undefined);
  }
}

function codeOf(error: Error): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`publish timed out after ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
