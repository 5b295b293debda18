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
  /** Upper bound for one publish, retries of the client included. */
  publishTimeoutMs: number;
}

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
      gaxOpts: { timeout: options.publishTimeoutMs },
    });
  }

  private ensureTopic(): Promise<void> {
    this.ready ??= (async () => {
      if (!this.options.createTopic) return;
      const [exists] = await this.topic.exists();
      if (exists) return;
      try {
        await this.topic.create();
      } catch (error) {
        if ((error as { code?: number }).code !== 6) throw error; // ALREADY_EXISTS: created meanwhile
      }
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async publishAll(requests: readonly PublishRequest[]): Promise<PublishOutcome[]> {
    await this.ensureTopic();
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
    for (const key of pausedKeys) this.topic.resumePublishing(key);
    return outcomes;
  }

  async close(): Promise<void> {
    await this.topic.flush().catch(() => undefined);
  }
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
