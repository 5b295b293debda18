export {
  toGrpcError,
  grpcStatusOf,
  ERROR_CODE_METADATA_KEY,
  ERROR_FIELD_METADATA_KEY,
} from './error-mapping';
export type { GrpcErrorPayload } from './error-mapping';
export { GrpcErrorFilter } from './grpc-error.filter';
export { grpcServerOptions, PROTO_LOADER_OPTIONS } from './server-options';
export type { GrpcServerSetup } from './server-options';
export { toTimestamp, fromTimestamp } from './timestamps';
export { bearerTokenOf, safeEqual } from './auth';
export { decodeStatusDetails } from './status-details';
export type { DecodedStatusDetails } from './status-details';
export { createGrpcClient } from './grpc-client';
export type { GrpcClientHandle, UnaryCall, PromiseClientOf } from './grpc-client';
export { startConnectDoor, toConnectError } from './connect-door';
export type { ConnectDoor, ConnectDoorOptions, CallMetrics } from './connect-door';
export type { HealthStatus, HealthStatusOf } from './connect-meta-services';
