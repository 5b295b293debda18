/**
 * gRPC channel settings for a client that must resume quickly after its server returns (Pub/Sub,
 * Firestore, emulators restarted): grpc-js's default reconnect backoff grows to 120 s, so a channel
 * that failed during a long outage could wait that long before it even tries the returned server.
 * Pass them in the Google clients' options (`new PubSub({ ...FAST_RECONNECT_GRPC_OPTIONS })`).
 */
export const FAST_RECONNECT_GRPC_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
} as const;
