/**
 * The role → permission matrix: the one table every route's declared permission is checked against.
 * README "Accounts" shows the same table; `test/accounts/isolation.test.ts` walks it route by route.
 */
export const roles = ['owner', 'admin', 'manager', 'analyst', 'viewer'] as const
export type Role = (typeof roles)[number]

export const permissions = [
  'heatmaps:read',
  'sessions:read',
  'heatmaps:export',
  'sites:read',
  'sites:write',
  'members:read',
  'members:write',
  'api_keys:read',
  'api_keys:write',
  'privacy:read',
  'privacy:write',
  'audit:read',
  'org:read',
  'org:write',
  'billing:manage',
  'org:transfer',
  'org:delete',
  /** The caller's own account: profile, logout, MFA. Users only, never API keys. */
  'account:self',
  /**
   * Instance-wide figures (the runtime dashboard, `GET /v1/cluster`): every tenant's load, so no
   * organisation role holds it; an instance operator's sign-ins carry it (`operatorPermissions`).
   */
  'instance:read',
] as const
export type Permission = (typeof permissions)[number]

const Y = true
const _ = false
// biome-ignore format: the matrix reads as a table
const matrix: Record<Permission, Record<Role, boolean>> = {
  //                  owner admin manager analyst viewer
  'heatmaps:read':   { owner: Y, admin: Y, manager: Y, analyst: Y, viewer: Y },
  'sessions:read':   { owner: Y, admin: Y, manager: Y, analyst: Y, viewer: _ },
  'heatmaps:export': { owner: Y, admin: Y, manager: Y, analyst: Y, viewer: _ },
  'sites:read':      { owner: Y, admin: Y, manager: Y, analyst: Y, viewer: Y },
  'sites:write':     { owner: Y, admin: Y, manager: Y, analyst: _, viewer: _ },
  'members:read':    { owner: Y, admin: Y, manager: Y, analyst: _, viewer: _ },
  'members:write':   { owner: Y, admin: Y, manager: Y, analyst: _, viewer: _ },
  'api_keys:read':   { owner: Y, admin: Y, manager: _, analyst: _, viewer: _ },
  'api_keys:write':  { owner: Y, admin: Y, manager: _, analyst: _, viewer: _ },
  'privacy:read':    { owner: Y, admin: Y, manager: Y, analyst: _, viewer: _ },
  'privacy:write':   { owner: Y, admin: Y, manager: _, analyst: _, viewer: _ },
  'audit:read':      { owner: Y, admin: Y, manager: _, analyst: _, viewer: _ },
  'org:read':        { owner: Y, admin: Y, manager: Y, analyst: Y, viewer: Y },
  'org:write':       { owner: Y, admin: Y, manager: _, analyst: _, viewer: _ },
  'billing:manage':  { owner: Y, admin: _, manager: _, analyst: _, viewer: _ },
  'org:transfer':    { owner: Y, admin: _, manager: _, analyst: _, viewer: _ },
  'org:delete':      { owner: Y, admin: _, manager: _, analyst: _, viewer: _ },
  'account:self':    { owner: Y, admin: Y, manager: Y, analyst: Y, viewer: Y },
  'instance:read':   { owner: _, admin: _, manager: _, analyst: _, viewer: _ },
}

/** Everything a role may do, in the order of `permissions`. */
export function permissionsOf(role: Role): Permission[] {
  return permissions.filter((p) => matrix[p][role])
}

export function roleAllows(role: Role, permission: Permission): boolean {
  return matrix[permission][role]
}

/**
 * Which roles a member of `role` may invite, assign or remove. Ownership moves only by transfer; a
 * manager manages the roles below manager.
 */
// biome-ignore format: a table
const assignable: Record<Role, readonly Role[]> = {
  owner:   ['admin', 'manager', 'analyst', 'viewer'],
  admin:   ['admin', 'manager', 'analyst', 'viewer'],
  manager: ['analyst', 'viewer'],
  analyst: [],
  viewer:  [],
}

export function canManageRole(actor: Role, target: Role): boolean {
  return assignable[actor].includes(target)
}

/** What an API key may be granted: data and site access, never people, keys, the organisation or an account. */
export const apiKeyPermissions: readonly Permission[] = [
  'heatmaps:read',
  'sessions:read',
  'heatmaps:export',
  'sites:read',
  'sites:write',
  'privacy:read',
  'privacy:write',
]

/**
 * What an instance operator holds beyond their role, in whichever organisation they sign into: operators
 * are users (the instance's first account, and those `HM_OPERATOR_EMAILS` names), never API keys.
 */
export const operatorPermissions: readonly Permission[] = ['instance:read']

/** Scopes of keys made before scopes existed, and the default of a new key: read the data. */
export const defaultApiKeyScopes: readonly Permission[] = [
  'heatmaps:read',
  'sessions:read',
  'heatmaps:export',
]

export const isRole = (v: unknown): v is Role =>
  typeof v === 'string' && (roles as readonly string[]).includes(v)
export const isPermission = (v: unknown): v is Permission =>
  typeof v === 'string' && (permissions as readonly string[]).includes(v)

/** The matrix as rows, for the README and the tests. */
export function permissionMatrix(): Array<{ permission: Permission; roles: Role[] }> {
  return permissions.map((p) => ({ permission: p, roles: roles.filter((r) => matrix[p][r]) }))
}
