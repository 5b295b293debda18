import { ConsoleError } from '../http/console-error';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer reads; operator also acts on money and sync (void, reverse, replay); admin also manages users. */
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Operator {
  userId: string;
  email: string;
  /** tenant → role; tenants not listed do not exist for this user. */
  tenants: ReadonlyMap<string, Role>;
  csrfToken: string;
}

export const isRole = (value: unknown): value is Role => ROLES.includes(value as Role);

/** The user's role on the tenant, refused (as not found) when the user has none, or too low. */
export function requireRole(operator: Operator, tenantId: string, needed: Role): Role {
  const role = operator.tenants.get(tenantId);
  if (!role) throw new ConsoleError('NOT_FOUND', `No tenant "${tenantId}" for ${operator.email}.`);
  if (RANK[role] < RANK[needed])
    throw new ConsoleError(
      'FORBIDDEN',
      `Your role on tenant ${tenantId} is ${role}; this needs ${needed} or higher.`,
    );
  return role;
}
