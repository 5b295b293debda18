import protobuf from 'protobufjs';

// google.rpc.Status with ErrorInfo and BadRequest, as defined in googleapis/google/rpc.
const root = protobuf.Root.fromJSON(<protobuf.INamespace>{
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 },
              },
            },
            BadRequest: {
              fields: { field_violations: { rule: 'repeated', type: 'FieldViolation', id: 1 } },
              nested: {
                FieldViolation: {
                  fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } },
                },
              },
            },
          },
        },
      },
    },
  },
});

const Status = root.lookupType('google.rpc.Status');
const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');
const BadRequest = root.lookupType('google.rpc.BadRequest');

interface DetailsInput {
  code: number;
  message: string;
  reason: string;
  field?: string;
  facts?: Readonly<Record<string, string>>;
}

export function encodeStatusDetails(input: DetailsInput): Buffer {
  const details = [
    {
      type_url: 'type.googleapis.com/google.rpc.ErrorInfo',
      value: ErrorInfo.encode({
        reason: input.reason,
        domain: 'saldo',
        metadata: { ...(input.facts ?? {}) },
      }).finish(),
    },
  ];
  if (input.field) {
    details.push({
      type_url: 'type.googleapis.com/google.rpc.BadRequest',
      value: BadRequest.encode({
        field_violations: [{ field: input.field, description: input.message }],
      }).finish(),
    });
  }
  return Buffer.from(Status.encode({ code: input.code, message: input.message, details }).finish());
}

export interface DecodedStatusDetails {
  code: number;
  message: string;
  reason?: string;
  facts: Record<string, string>;
  fieldViolations: Array<{ field: string; description: string }>;
}

/** Reads grpc-status-details-bin back (clients, tests, the CLI). */
export function decodeStatusDetails(bytes: Buffer): DecodedStatusDetails {
  const status = Status.toObject(Status.decode(bytes), { defaults: true }) as {
    code: number;
    message: string;
    details: Array<{ type_url: string; value: Uint8Array }>;
  };
  const decoded: DecodedStatusDetails = {
    code: status.code,
    message: status.message,
    facts: {},
    fieldViolations: [],
  };
  for (const any of status.details) {
    if (any.type_url.endsWith('google.rpc.ErrorInfo')) {
      const info = ErrorInfo.toObject(ErrorInfo.decode(any.value), { defaults: true }) as {
        reason: string;
        metadata: Record<string, string>;
      };
      decoded.reason = info.reason;
      decoded.facts = info.metadata;
    } else if (any.type_url.endsWith('google.rpc.BadRequest')) {
      const bad = BadRequest.toObject(BadRequest.decode(any.value), { defaults: true }) as {
        field_violations: Array<{ field: string; description: string }>;
      };
      decoded.fieldViolations = bad.field_violations;
    }
  }
  return decoded;
}

/** The google.protobuf.Any details of an encoded google.rpc.Status, as type name and bytes (the Connect protocol's shape). */
export function statusDetailAnys(bytes: Buffer): Array<{ type: string; value: Uint8Array }> {
  const decoded = Status.decode(bytes) as unknown as {
    details: Array<{ type_url: string; value: Uint8Array }>;
  };
  return decoded.details.map((any) => ({
    type: any.type_url.slice(any.type_url.lastIndexOf('/') + 1),
    value: any.value,
  }));
}
