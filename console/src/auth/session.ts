import { createSignal } from 'solid-js'
import { ApiError, requestJson } from '../api/http'
import type { Role, TokenPair } from '../api/types'

/**
 * The signed-in state of the console: the access token (a 15-minute JWT by default) and the refresh
 * token that renews it. Kept in localStorage so a reload or a second tab stays signed in.
 *
 * Refresh tokens work once, and a spent one coming back revokes the whole sign-in. Two tabs renewing
 * the same token at once would do exactly that, so a renewal runs under a Web Lock shared by every tab
 * of the origin and first re-reads the stored session: when another tab already renewed it, its pair is
 * taken instead of spending the old token again.
 */
export interface Session {
  accessToken: string
  refreshToken: string
  /** When the access token expires, ms since the epoch (by this browser's clock). */
  expiresAt: number
  org: string
  role: Role
}

const STORAGE_KEY = 'hm.console.session'
const LOCK_NAME = 'hm.console.refresh'
/** Renew this long before expiry, so a request never leaves with a token about to lapse. */
const RENEW_MARGIN_MS = 60_000

function load(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    if (raw === null) return null
    const s = JSON.parse(raw) as Partial<Session>
    if (typeof s.accessToken !== 'string' || typeof s.refreshToken !== 'string') return null
    return s as Session
  } catch {
    return null
  }
}

const [session, setSessionSignal] = createSignal<Session | null>(load())

export { session }

let renewTimer: ReturnType<typeof setTimeout> | undefined
let renewing: Promise<Session | null> | undefined

function store(s: Session | null): void {
  if (s === null) localStorage.removeItem(STORAGE_KEY)
  else localStorage.setItem(STORAGE_KEY, JSON.stringify(s))
  adopt(s)
}

/** Takes `s` as the current session (from this tab or another) and schedules its renewal. */
function adopt(s: Session | null): void {
  setSessionSignal(s)
  clearTimeout(renewTimer)
  if (s === null) return
  const ttl = s.expiresAt - Date.now()
  // A minute before expiry; a token living less than two minutes renews at 80 % of its life instead.
  const due = Math.max(0, ttl > 2 * RENEW_MARGIN_MS ? ttl - RENEW_MARGIN_MS : ttl * 0.8)
  renewTimer = setTimeout(() => {
    void renew().catch((e: unknown) => console.warn('[console] token renewal failed', e))
  }, due)
}

if (typeof window !== 'undefined') {
  adopt(session())
  // Another tab signed in, renewed or signed out.
  window.addEventListener('storage', (e) => {
    if (e.key === STORAGE_KEY) adopt(load())
  })
}

function fromPair(p: TokenPair): Session {
  return {
    accessToken: p.accessToken,
    refreshToken: p.refreshToken,
    expiresAt: Date.now() + p.expiresIn * 1000,
    org: p.org,
    role: p.role,
  }
}

async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof navigator !== 'undefined' && navigator.locks !== undefined)
    return navigator.locks.request(LOCK_NAME, fn)
  return fn()
}

/**
 * Spends the refresh token for a new pair (once at a time in this tab, and across tabs through the
 * lock). Answers the session in force afterwards, or null when the sign-in is over.
 */
export function renew(): Promise<Session | null> {
  renewing ??= withRefreshLock(async () => {
    const held = session()
    const stored = load()
    if (held === null || stored === null) {
      adopt(stored)
      return stored
    }
    // Another tab renewed while this one waited for the lock: its pair is the current one.
    if (stored.refreshToken !== held.refreshToken && stored.expiresAt > Date.now() + 5_000) {
      adopt(stored)
      return stored
    }
    try {
      const pair = await requestJson<TokenPair>('/v1/auth/refresh', {
        method: 'POST',
        body: { refreshToken: stored.refreshToken },
      })
      const next = fromPair(pair)
      store(next)
      return next
    } catch (e) {
      // The sign-in is over (revoked, expired, reused): back to the sign-in page. A network failure
      // keeps the session so the next attempt can renew it.
      if (e instanceof ApiError && e.status === 401) {
        store(null)
        return null
      }
      throw e
    }
  }).finally(() => {
    renewing = undefined
  })
  return renewing
}

/** A current access token, renewed first when it is about to expire; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const s = session()
  if (s === null) return null
  if (s.expiresAt - Date.now() > 5_000) return s.accessToken
  return (await renew())?.accessToken ?? null
}

export async function signIn(email: string, password: string, totp?: string): Promise<void> {
  const pair = await requestJson<TokenPair>('/v1/auth/login', {
    method: 'POST',
    body: { email, password, ...(totp ? { totp } : {}) },
  })
  store(fromPair(pair))
}

export async function signUp(o: {
  email: string
  name: string
  password: string
  organization: string
}): Promise<void> {
  const pair = await requestJson<TokenPair>('/v1/auth/signup', { method: 'POST', body: o })
  store(fromPair(pair))
}

/** Joins an organisation by invitation: signs in (existing account, its password) or creates the account. */
export async function acceptInvitation(o: { token: string; password: string; name?: string }): Promise<void> {
  const pair = await requestJson<TokenPair>('/v1/invitations/accept', { method: 'POST', body: o })
  store(fromPair(pair))
}

/** Ends this sign-in on the gateway (its tokens stop working everywhere) and forgets it here. */
export async function signOut(): Promise<void> {
  const token = await accessToken().catch(() => null)
  store(null)
  if (token === null) return
  try {
    await requestJson('/v1/auth/logout', { method: 'POST', token })
  } catch (e) {
    // Already signed out (revoked, expired): nothing left to end.
    if (!(e instanceof ApiError && e.status === 401)) throw e
  }
}

/** Signs into another organisation of the account; the sign-in of the one left is ended. */
export async function switchOrg(orgId: string): Promise<void> {
  const token = await accessToken()
  if (token === null) throw new ApiError(401, 'HM_ERR_AUTH_MISSING', 'not signed in')
  const pair = await requestJson<TokenPair>('/v1/auth/switch', {
    method: 'POST',
    body: { orgId },
    token,
  })
  store(fromPair(pair))
  try {
    await requestJson('/v1/auth/logout', { method: 'POST', token })
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e
  }
}

/** Forgets a sign-in the gateway no longer accepts (revoked elsewhere). */
export function dropSession(): void {
  store(null)
}

/** The user id (`sub` claim) of an access token; it only keys caches, the gateway checks the token. */
export function userIdOf(s: Session): string {
  try {
    const payload = s.accessToken.split('.')[1] ?? ''
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
    const sub = (JSON.parse(json) as { sub?: unknown }).sub
    return typeof sub === 'string' ? sub : ''
  } catch {
    return ''
  }
}
