// The standard services a gRPC tool expects next to the API, on the Connect door too: health
// (grpc.health.v1.Health/Check) and server reflection (grpc.reflection.v1 and v1alpha, what buf curl
// and grpcurl ask), describing the real .proto files.
import { createRegistry, type DescFile } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  encodedFileDescriptors,
  healthEs,
  reflectionV1alphaEs,
  reflectionV1Es,
  withImports,
} from '@saldo/proto';

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
/** The serving status of a service name ('' = the server as a whole). */
export type HealthStatusOf = (service: string) => HealthStatus;

const S = healthEs.HealthCheckResponse_ServingStatus;
const HEALTH_STATUS: Record<HealthStatus, healthEs.HealthCheckResponse_ServingStatus> = {
  SERVING: S.SERVING,
  NOT_SERVING: S.NOT_SERVING,
  SERVICE_UNKNOWN: S.SERVICE_UNKNOWN,
};

export function serveHealth(router: ConnectRouter, statusOf: HealthStatusOf): void {
  router.service(healthEs.Health, {
    check: (request) => {
      const state = statusOf(request.service);
      // As grpc-health-check: an unknown service is NOT_FOUND on Check.
      if (state === 'SERVICE_UNKNOWN')
        throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return { status: HEALTH_STATUS[state] };
    },
  });
}

/** One reflection answer's oneof, in v1's shape (v1alpha's messages are field-for-field the same). */
type Answer =
  | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: 'listServicesResponse'; value: { service: Array<{ name: string }> } }
  | { case: 'allExtensionNumbersResponse'; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } };

type Question = reflectionV1Es.ServerReflectionRequest['messageRequest'];

/** Answers reflection questions from the files (and their imports). */
export function reflectionAnswers(files: readonly DescFile[]): (question: Question) => Answer {
  const all = withImports([...files, healthEs.file_health_v1_health]);
  const registry = createRegistry(...all);
  const byName = new Map(all.map((file) => [file.name, file]));
  const services = all.flatMap((file) => file.services.map((service) => service.typeName));
  services.push('grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection');
  const filesWithImports = (file: DescFile): Answer => ({
    case: 'fileDescriptorResponse',
    value: { fileDescriptorProto: encodedFileDescriptors([file]).reverse() },
  });
  const notFound = (what: string): Answer => ({
    case: 'errorResponse',
    value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
  });
  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const found = registry.get(symbol);
    if (found) return found.file;
    // A method (pkg.Service.Method) or a field / enum value: its parent's file.
    const parent = symbol.slice(0, symbol.lastIndexOf('.'));
    const owner = parent ? registry.get(parent) : undefined;
    return owner?.file;
  };

  return (question) => {
    switch (question.case) {
      case 'listServices':
        return { case: 'listServicesResponse', value: { service: services.map((name) => ({ name })) } };
      case 'fileByFilename': {
        const file = byName.get(question.value);
        return file ? filesWithImports(file) : notFound(`file ${question.value}`);
      }
      case 'fileContainingSymbol': {
        const file = fileOfSymbol(question.value);
        return file ? filesWithImports(file) : notFound(`symbol ${question.value}`);
      }
      case 'fileContainingExtension':
        return notFound(`extension ${question.value.containingType}:${question.value.extensionNumber}`);
      case 'allExtensionNumbersOfType': {
        const message = registry.getMessage(question.value);
        return message
          ? {
              case: 'allExtensionNumbersResponse',
              value: { baseTypeName: message.typeName, extensionNumber: [] },
            }
          : notFound(`type ${question.value}`);
      }
      default:
        return {
          case: 'errorResponse',
          value: { errorCode: Code.InvalidArgument, errorMessage: 'empty reflection request' },
        };
    }
  };
}

export function serveReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const answer = reflectionAnswers(files);
  router.service(reflectionV1Es.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests)
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: answer(request.messageRequest),
        };
    },
  });
  router.service(reflectionV1alphaEs.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests)
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: answer(request.messageRequest as Question) as never,
        };
    },
  });
}
