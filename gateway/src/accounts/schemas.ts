import { type TSchema, Type } from '@sinclair/typebox'
import type { Permission } from '../auth/permissions.ts'

export const Uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
})
export const Email = Type.String({ pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', maxLength: 254 })
export const Name = Type.String({ minLength: 1, maxLength: 200 })
export const Password = Type.String({ minLength: 1, maxLength: 1024 })
export const RoleName = Type.Union(
  ['owner', 'admin', 'manager', 'analyst', 'viewer'].map((r) => Type.Literal(r)),
)
export const Body = (props: Record<string, TSchema>) => Type.Object(props, { additionalProperties: false })

/** The one error body of every API. */
export const ErrorResponse = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  {
    $id: 'Error',
    description: 'Every error: a code from the README table and a message naming what was wrong',
  },
)

/** A management route's config: the permission it needs, its audit name, and management's bad-request code. */
export function needs(permission: Permission, audit?: string) {
  return { permission, validationCode: 'HM_ERR_ACCOUNT_BAD_REQUEST' as const, ...(audit ? { audit } : {}) }
}

/** A route anyone may call (the handler checks what it needs). */
export function open(audit?: string) {
  return { public: true, validationCode: 'HM_ERR_ACCOUNT_BAD_REQUEST' as const, ...(audit ? { audit } : {}) }
}

export const bearer = [{ bearer: [] as string[] }]
