import { z } from 'zod';

/** Building blocks shared by the services' config schemas. */
export const envSchemas = {
  port: (fallback: number) =>
    z.coerce
      .number({ error: 'expected a port number' })
      .int()
      .min(1, 'expected a number from 1 to 65535')
      .max(65535, 'expected a number from 1 to 65535')
      .default(fallback),
  positiveInt: (fallback: number, max = 1_000_000) =>
    z.coerce.number({ error: 'expected a whole number' }).int().min(1).max(max).default(fallback),
  url: (fallback: string, protocols: readonly string[]) =>
    z
      .string()
      .default(fallback)
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
          } catch {
            return false;
          }
        },
        `expected a URL (${protocols.join(' or ')})`,
      ),
  hostPort: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .refine((v) => /^[^\s:]+:\d{1,5}$/.test(v), 'expected host:port'),
  oneOf: <T extends string>(values: readonly [T, ...T[]], fallback: T) =>
    z.enum(values).default(fallback as never),
  secret: (minLength = 16) =>
    z.string({ error: 'is required' }).min(minLength, `must be at least ${minLength} characters`),
};
