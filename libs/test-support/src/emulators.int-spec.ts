import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { connect } from 'node:net';
import { startFirestoreEmulator, startPubSubEmulator, waitFor, type TestEmulator } from './index';

jest.setTimeout(60_000);

function portOf(host: string): number {
  return Number(host.split(':')[1]);
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function expectStopped(emulator: TestEmulator): Promise<void> {
  await emulator.stop();
  expect(await portClosed(portOf(emulator.host))).toBe(true);
}

describe('startPubSubEmulator', () => {
  it('starts a private emulator that delivers a message, and stops it', async () => {
    const emulator = await startPubSubEmulator();
    try {
      expect(emulator.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(emulator.host).not.toBe(process.env['PUBSUB_EMULATOR_HOST']);
      expect(emulator.env).toEqual({
        PUBSUB_EMULATOR_HOST: emulator.host,
        PUBSUB_PROJECT_ID: emulator.projectId,
      });

      const pubsub = new PubSub({
        projectId: emulator.projectId,
        apiEndpoint: emulator.host,
        emulatorMode: true,
      });
      try {
        const [topic] = await pubsub.createTopic('test-support-topic');
        const [subscription] = await topic.createSubscription('test-support-sub');
        const received = new Promise<Message>((resolve) => subscription.once('message', resolve));
        await topic.publishMessage({ data: Buffer.from('hello'), attributes: { kind: 'probe' } });
        const message = await received;
        message.ack();
        expect(message.data.toString()).toBe('hello');
        expect(message.attributes).toEqual({ kind: 'probe' });
        await subscription.close();
      } finally {
        await pubsub.close();
      }
    } finally {
      await expectStopped(emulator);
    }
  });
});

describe('startFirestoreEmulator', () => {
  it('starts a private emulator that stores a document, and stops it', async () => {
    const emulator = await startFirestoreEmulator();
    // The Firestore client prefers FIRESTORE_EMULATOR_HOST (the run's shared emulator) over `host`.
    const sharedHost = process.env['FIRESTORE_EMULATOR_HOST'];
    delete process.env['FIRESTORE_EMULATOR_HOST'];
    try {
      const firestore = new Firestore({ projectId: emulator.projectId, host: emulator.host, ssl: false });
      try {
        await firestore.doc('wallets/w-1').set({ version: 3, available_minor: '1500' });
        const snapshot = await waitFor(
          async () => {
            const doc = await firestore.doc('wallets/w-1').get();
            return doc.exists ? doc : undefined;
          },
          { timeoutMs: 5_000, what: 'wallets/w-1' },
        );
        expect(snapshot.data()).toEqual({ version: 3, available_minor: '1500' });
      } finally {
        await firestore.terminate();
      }
    } finally {
      if (sharedHost !== undefined) process.env['FIRESTORE_EMULATOR_HOST'] = sharedHost;
      await expectStopped(emulator);
    }
  });
});
