import { randomUUID } from 'node:crypto'
import type { Permission } from '../../src/auth/permissions.ts'
import { SEEDED_PAGE, SEEDED_SESSION } from './analytics.ts'
import { email, type Harness } from './harness.ts'

/** The ids a route is called with: an organisation's own resources, made fresh where the call consumes them. */
export interface Ids {
  orgId: string
  siteId: string
  keyId: string
  invitationId: string
  /** A viewer of the organisation (a member anyone with members:write may manage). */
  memberId: string
  visitorId: string
  deletionId: string
  /** A site of the organisation with analytics to query (one per organisation: queries consume nothing). */
  querySiteId: string
}

export interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** The route as registered (matched against the OpenAPI document for completeness). */
  route: string
  permission: Permission
  url(ids: Ids): string
  body?(ids: Ids): unknown
  /** What a caller holding the permission gets on its own organisation's ids. */
  ok: number | number[]
  /** Calling with another organisation's ids must fail with this (the resource is not "found"). */
  foreign?: { status: number; code: string }
}

const notFound = { status: 404, code: 'HM_ERR_ACCOUNT_NOT_FOUND' }
const queryNotFound = { status: 404, code: 'HM_ERR_QUERY_NOT_FOUND' }

/** A query route on the organisation's seeded site: 200 for whoever holds its permission. */
const queryCase = (route: string, permission: Permission, qs: string): RouteCase => ({
  method: 'GET',
  route: `/v1/sites/:siteId/${route}`,
  permission,
  url: (i) =>
    `/v1/sites/${i.querySiteId}/${route.replace(':sessionId', SEEDED_SESSION)}${qs === '' ? '' : `?${qs}`}`,
  ok: 200,
  foreign: queryNotFound,
})

const page = `page=${encodeURIComponent(SEEDED_PAGE)}`

/** Every query route (`plugins/query/*`); the live socket is walked in the privacy suite (it needs actors). */
export const queryRouteCases: RouteCase[] = [
  queryCase('heatmap', 'heatmaps:read', `${page}&type=click`),
  queryCase('pages', 'heatmaps:read', ''),
  queryCase('scroll', 'heatmaps:read', page),
  queryCase('attention', 'heatmaps:read', page),
  queryCase('elements', 'heatmaps:read', page),
  queryCase('compare', 'heatmaps:read', `${page}&type=click&aDevice=desktop&bDevice=mobile`),
  queryCase('export', 'heatmaps:export', `${page}&type=click&format=json`),
  queryCase('sessions', 'sessions:read', ''),
  queryCase('sessions/:sessionId', 'sessions:read', ''),
]

/** Every management and query route that needs a permission. Public routes are listed in `publicRoutes`. */
export const routeCases: RouteCase[] = [
  {
    method: 'POST',
    route: '/v1/auth/logout',
    permission: 'account:self',
    url: () => '/v1/auth/logout',
    ok: 204,
  },
  {
    method: 'POST',
    route: '/v1/auth/switch',
    permission: 'account:self',
    url: () => '/v1/auth/switch',
    body: (i) => ({ orgId: i.orgId }),
    ok: 200,
    foreign: { status: 403, code: 'HM_ERR_AUTH_NOT_MEMBER' },
  },
  { method: 'GET', route: '/v1/me', permission: 'account:self', url: () => '/v1/me', ok: 200 },
  {
    method: 'POST',
    route: '/v1/me/mfa/setup',
    permission: 'account:self',
    url: () => '/v1/me/mfa/setup',
    ok: 200,
  },
  {
    method: 'POST',
    route: '/v1/me/mfa/enable',
    permission: 'account:self',
    url: () => '/v1/me/mfa/enable',
    body: () => ({ totp: '12345x' }),
    // Allowed to try: the code is wrong (401), or this caller has set no secret up yet (409).
    ok: [401, 409],
  },
  {
    method: 'POST',
    route: '/v1/me/mfa/disable',
    permission: 'account:self',
    url: () => '/v1/me/mfa/disable',
    body: () => ({ totp: '000000', password: 'not the password' }),
    ok: 401,
  },
  { method: 'GET', route: '/v1/sites', permission: 'sites:read', url: () => '/v1/sites', ok: 200 },
  {
    method: 'POST',
    route: '/v1/sites',
    permission: 'sites:write',
    url: () => '/v1/sites',
    body: () => ({ name: 'new site', domain: 'new.example' }),
    ok: 201,
  },
  {
    method: 'GET',
    route: '/v1/sites/:siteId',
    permission: 'sites:read',
    url: (i) => `/v1/sites/${i.siteId}`,
    ok: 200,
    foreign: notFound,
  },
  {
    method: 'PATCH',
    route: '/v1/sites/:siteId',
    permission: 'sites:write',
    url: (i) => `/v1/sites/${i.siteId}`,
    body: () => ({ consentRequired: true, allowedOrigins: ['https://shop.example'] }),
    ok: 200,
    foreign: notFound,
  },
  {
    method: 'DELETE',
    route: '/v1/sites/:siteId',
    permission: 'sites:write',
    url: (i) => `/v1/sites/${i.siteId}`,
    ok: 204,
    foreign: notFound,
  },
  { method: 'GET', route: '/v1/org', permission: 'org:read', url: () => '/v1/org', ok: 200 },
  {
    method: 'PATCH',
    route: '/v1/org',
    permission: 'org:write',
    url: () => '/v1/org',
    body: () => ({ name: 'renamed' }),
    ok: 204,
  },
  {
    method: 'DELETE',
    route: '/v1/org',
    permission: 'org:delete',
    url: () => '/v1/org',
    // A wrong confirmation: whoever may delete gets 400, nobody deletes the shared organisation here.
    body: () => ({ confirm: 'not the name' }),
    ok: 400,
  },
  {
    method: 'POST',
    route: '/v1/org/transfer',
    permission: 'org:transfer',
    url: () => '/v1/org/transfer',
    body: () => ({ userId: randomUUID() }),
    ok: 404,
  },
  { method: 'GET', route: '/v1/members', permission: 'members:read', url: () => '/v1/members', ok: 200 },
  {
    method: 'PATCH',
    route: '/v1/members/:userId',
    permission: 'members:write',
    url: (i) => `/v1/members/${i.memberId}`,
    body: () => ({ role: 'analyst' }),
    ok: 204,
    foreign: notFound,
  },
  {
    method: 'DELETE',
    route: '/v1/members/:userId',
    permission: 'members:write',
    url: (i) => `/v1/members/${i.memberId}`,
    ok: 204,
    foreign: notFound,
  },
  {
    method: 'GET',
    route: '/v1/invitations',
    permission: 'members:read',
    url: () => '/v1/invitations',
    ok: 200,
  },
  {
    method: 'POST',
    route: '/v1/invitations',
    permission: 'members:write',
    url: () => '/v1/invitations',
    body: () => ({ email: email('invitee'), role: 'viewer' }),
    ok: 201,
  },
  {
    method: 'DELETE',
    route: '/v1/invitations/:invitationId',
    permission: 'members:write',
    url: (i) => `/v1/invitations/${i.invitationId}`,
    ok: 204,
    foreign: notFound,
  },
  { method: 'GET', route: '/v1/api-keys', permission: 'api_keys:read', url: () => '/v1/api-keys', ok: 200 },
  {
    method: 'POST',
    route: '/v1/api-keys',
    permission: 'api_keys:write',
    url: () => '/v1/api-keys',
    body: () => ({ name: 'ci', scopes: ['heatmaps:read'] }),
    ok: 201,
  },
  {
    method: 'DELETE',
    route: '/v1/api-keys/:keyId',
    permission: 'api_keys:write',
    url: (i) => `/v1/api-keys/${i.keyId}`,
    ok: 204,
    foreign: notFound,
  },
  { method: 'GET', route: '/v1/audit', permission: 'audit:read', url: () => '/v1/audit', ok: 200 },
  {
    method: 'POST',
    route: '/v1/sites/:siteId/consent',
    permission: 'privacy:write',
    url: (i) => `/v1/sites/${i.siteId}/consent`,
    body: (i) => ({ visitorId: i.visitorId, granted: true }),
    ok: 204,
    foreign: notFound,
  },
  {
    method: 'GET',
    route: '/v1/sites/:siteId/consent',
    permission: 'privacy:read',
    url: (i) => `/v1/sites/${i.siteId}/consent?visitorId=${i.visitorId}`,
    ok: 200,
    foreign: notFound,
  },
  {
    method: 'GET',
    route: '/v1/sites/:siteId/visitors/:visitorId',
    permission: 'privacy:read',
    url: (i) => `/v1/sites/${i.siteId}/visitors/${i.visitorId}`,
    ok: 200,
    foreign: notFound,
  },
  {
    method: 'DELETE',
    route: '/v1/sites/:siteId/visitors/:visitorId',
    permission: 'privacy:write',
    url: (i) => `/v1/sites/${i.siteId}/visitors/${i.visitorId}`,
    ok: 202,
    foreign: notFound,
  },
  {
    method: 'GET',
    route: '/v1/deletions/:deletionId',
    permission: 'privacy:read',
    url: (i) => `/v1/deletions/${i.deletionId}`,
    ok: 200,
    foreign: notFound,
  },
  ...queryRouteCases,
]

/** Routes open to anyone: each checks its own credential (password, refresh token, invitation, site key). */
export const publicRoutes = [
  'POST /v1/auth/signup',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'POST /v1/auth/password/forgot',
  'POST /v1/auth/password/reset',
  'POST /v1/invitations/accept',
  'POST /v1/consent',
]

/** The seeded site of each organisation (per harness: each has its own databases). */
const querySites = new WeakMap<Harness, Map<string, Promise<string>>>()

/** Fresh resources of an organisation, made directly in the database (no permission involved). */
export async function freshIds(h: Harness, orgId: string, dummyHash: string): Promise<Ids> {
  const q = async (sql: string, params: unknown[]) =>
    (await h.pool.query<{ id: string }>(sql, params)).rows[0]!.id
  const newSite = () =>
    q(
      "INSERT INTO websites (org_id, name, domain, site_key) VALUES ($1, 'site', 'site.example', $2) RETURNING id",
      [orgId, `k_${randomUUID()}`],
    )
  const siteId = await newSite()
  let bySite = querySites.get(h)
  if (bySite === undefined) {
    bySite = new Map()
    querySites.set(h, bySite)
  }
  let querySite = bySite.get(orgId)
  if (querySite === undefined) {
    querySite = newSite().then(async (id) => {
      await h.seedSite?.(id)
      return id
    })
    bySite.set(orgId, querySite)
  }
  const querySiteId = await querySite
  const keyId = await q(
    "INSERT INTO api_keys (org_id, name, prefix, key_hash) VALUES ($1, 'key', 'abcd', $2) RETURNING id",
    [orgId, randomUUID()],
  )
  const invitationId = await q(
    `INSERT INTO invitations (org_id, email_hash, email_enc, role, token_hash, expires_at)
     VALUES ($1, $2, $3, 'viewer', $4, now() + interval '1 day') RETURNING id`,
    [orgId, randomUUID(), h.ctx.keys.cipher.encrypt('invitations.email', email('pending')), randomUUID()],
  )
  const memberId = await q(
    'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id',
    [email('member'), 'member', dummyHash],
  )
  await h.pool.query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'viewer')", [
    orgId,
    memberId,
  ])
  const visitorId = `v-${randomUUID()}`
  const deletionId = await q(
    `INSERT INTO visitor_deletions (org_id, site_id, visitor_id, status) VALUES ($1, $2, $3, 'done') RETURNING id`,
    [orgId, siteId, visitorId],
  )
  return { orgId, siteId, keyId, invitationId, memberId, visitorId, deletionId, querySiteId }
}
