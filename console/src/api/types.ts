/**
 * The gateway's wire types as the console reads them (the console depends on the API, not on the
 * gateway's code). Field names and shapes follow the route schemas served at `/docs/json`. The session
 * shapes are the ones the session queries answer with, imported as types only: nothing of `@hm/actors`
 * reaches the browser bundle.
 */
import type { SessionPage, SessionSummary, TimelineEvent } from '@hm/actors'

export type { SessionPage, SessionSummary, TimelineEvent }

export type Role = 'owner' | 'admin' | 'manager' | 'analyst' | 'viewer'

export type Permission =
  | 'heatmaps:read'
  | 'sessions:read'
  | 'heatmaps:export'
  | 'sites:read'
  | 'sites:write'
  | 'members:read'
  | 'members:write'
  | 'api_keys:read'
  | 'api_keys:write'
  | 'privacy:read'
  | 'privacy:write'
  | 'audit:read'
  | 'org:read'
  | 'org:write'
  | 'billing:manage'
  | 'org:transfer'
  | 'org:delete'
  | 'account:self'
  /** Instance operators only (the runtime dashboard): no organisation role holds it. */
  | 'instance:read'

export interface Membership {
  orgId: string
  name: string
  role: Role
}

/** `POST /v1/auth/login`, `/signup`, `/refresh`, `/switch`. */
export interface TokenPair {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  /** Seconds the access token is valid for. */
  expiresIn: number
  org: string
  role: Role
  memberships?: Membership[]
}

/** `GET /v1/me`. */
export interface Me {
  id: string
  email: string
  name: string
  mfaEnabled: boolean
  orgId: string
  role: Role
  permissions: Permission[]
  memberships: Membership[]
}

/** `GET /v1/sites`, `POST /v1/sites`. */
export interface Website {
  id: string
  name: string
  siteKey: string
  domain: string
  allowedOrigins: string[]
  consentRequired: boolean
  masking: 'standard' | 'strict'
  ipHandling: 'anonymize' | 'discard'
  retentionDays: number
  urlRules: { fragmentRoutes?: boolean }
  createdAt: string
  updatedAt: string
}

export const heatmapKinds = ['click', 'move', 'scroll', 'attention', 'rage', 'dead'] as const
export type HeatmapKind = (typeof heatmapKinds)[number]

export const viewportClasses = ['mobile', 'tablet', 'desktop'] as const
export type ViewportClass = (typeof viewportClasses)[number]

/** Devices the gateway derives from the User-Agent. */
export const devices = ['desktop', 'mobile', 'tablet', 'tv', 'unknown'] as const

export type Cell = [x: number, y: number, count: number]

/** `GET /v1/sites/<id>/heatmap`. */
export interface HeatmapAnswer {
  siteId: string
  page: string
  type: HeatmapKind
  viewport: string
  device: string
  country: string
  from: number
  to: number
  coveredFrom: number
  coveredTo: number
  /** Columns across the document width. */
  xCells: number
  /** Height of a row in document pixels. */
  yBandPx: number
  total: number
  live: boolean
  cells: Cell[]
}

/** `GET /v1/sites/<id>/pages`. */
export interface PagesAnswer {
  siteId: string
  from: number
  to: number
  pages: Array<{ page: string; views: number }>
}

/** `GET /v1/members`. */
export interface Member {
  userId: string
  email: string
  name: string
  role: Role
  mfaEnabled: boolean
}

/** One row of `GET /v1/audit`. */
export interface AuditEntry {
  id: number
  at: string
  action: string
  target: string | null
  status: number
  actorUserId: string | null
  actorApiKeyId: string | null
  ip: string | null
  userAgent: string | null
  details: Record<string, unknown>
}

/** Messages of the live WebSocket (`/v1/sites/<id>/live`), as JSON text frames. */
export type LiveMessage =
  | { kind: 'hello'; siteId: string; page: string; type: HeatmapKind; viewport: ViewportClass | 'all' }
  /** Counts to add to the page's map: `[x, y, count]` at 128 columns × 16 px rows. */
  | { kind: 'delta'; at: number; cells: Cell[] }
  | { kind: 'site'; at: number; visitors: number; eventsPerSecond: number }
  | { kind: 'error'; error: { code: string; message: string } }

/** The grid live deltas come in. */
export const LIVE_X_CELLS = 128
export const LIVE_BAND_PX = 16

/** Every API error's body. */
export interface ErrorBody {
  error: { code: string; message: string }
}

/** `GET /v1/invitations`. */
export interface Invitation {
  id: string
  email: string
  role: Role
  createdAt: string
  expiresAt: string
  status: string
}

/**
 * Which roles a member of a role may invite, assign or remove: the gateway's rule, repeated so the page
 * offers only what will be allowed (the gateway decides).
 */
export const assignableRoles: Record<Role, readonly Role[]> = {
  owner: ['admin', 'manager', 'analyst', 'viewer'],
  admin: ['admin', 'manager', 'analyst', 'viewer'],
  manager: ['analyst', 'viewer'],
  analyst: [],
  viewer: [],
}

/** `GET /v1/sites/<id>/visitors/<visitor id>`: everything stored about a visitor, by store and table. */
export interface VisitorExport {
  siteId: string
  visitorId: string
  exportedAt: string
  stores: Record<string, Record<string, unknown[]>>
}

/** `DELETE /v1/sites/<id>/visitors/<visitor id>`, `GET /v1/deletions/<id>`. */
export interface Deletion {
  id: string
  siteId: string
  visitorId: string
  status: 'pending' | 'done' | 'failed'
  /** Rows removed, by store and table. */
  stores: Record<string, Record<string, number>>
  error: string | null
  createdAt: string
  completedAt: string | null
}

export const sessionSorts = ['started', 'duration', 'pageviews', 'clicks', 'rage', 'dead'] as const
export type SessionSort = (typeof sessionSorts)[number]

/** `GET /v1/sites/<id>/sessions`. */
export interface SessionsAnswer {
  siteId: string
  from: number
  to: number
  total: number
  sessions: SessionSummary[]
}

/** `GET /v1/sites/<id>/sessions/<session id>`: the summary (null before the first one is written) and the timeline. */
export interface SessionAnswer {
  siteId: string
  session: SessionSummary | null
  timeline: TimelineEvent[]
}

/** One consent decision of `GET /v1/sites/<id>/consent`. */
export interface ConsentRecord {
  id: number
  visitorId: string
  granted: boolean
  source: 'sdk' | 'api'
  at: string
  /** Anonymised; null when not stored, or withheld from the caller's role. */
  ip: string | null
  userAgent: string | null
}

/** `GET /v1/sites/<id>/consent`: newest first; `nextBefore` pages on (null: the last page). */
export interface ConsentPage {
  siteId: string
  /** Whether addresses and user agents are shown to this caller (privacy:write) or withheld. */
  personalData: 'shown' | 'withheld'
  records: ConsentRecord[]
  nextBefore: number | null
}

/** `POST /v1/me/mfa/setup`: the TOTP secret (base32) and its otpauth:// URI for authenticator apps. */
export interface MfaSetup {
  secret: string
  uri: string
}

/** One actor type on one node of `GET /v1/runtime`. */
export interface RuntimeTypeView {
  active: number
  activations: number
  passivations: number
  turns: number
  deadLetters: number
  turnsPerSecond: number
}

/** One runtime node of `GET /v1/runtime`. */
export interface RuntimeNodeView {
  nodeId: string
  at: number
  threads: number
  shards: number[]
  workers: Array<{ threadId: number; activeActors: number; shards: number; heapUsed: number }>
  byType: Record<string, RuntimeTypeView>
  activeActors: number
  mailboxDepth: number
  delivered: number
  applied: number
  deadLetters: number
  replays: number
  unwrittenBatches: number
  turnsPerSecond: number
  deliveredPerSecond: number
  /** What the rates are measured over; 0 before a second sample of the node. */
  rateWindowMs: number
}

/** `GET /v1/runtime` and each `stats` event of `/v1/runtime/stream`. */
export interface RuntimeView {
  at: number
  members: string[]
  /** Members that did not answer in time. */
  missing: string[]
  nodes: RuntimeNodeView[]
  totals: {
    nodes: number
    shards: number
    threads: number
    activeActors: number
    mailboxDepth: number
    deadLetters: number
    turnsPerSecond: number
    byType: Record<string, { active: number; turnsPerSecond: number; deadLetters: number }>
  }
}
