import type pg from 'pg'
import { AccessTokens } from '../auth/access-tokens.ts'
import type { AuthKeys } from '../auth/keys.ts'
import { Sessions } from '../auth/sessions.ts'
import { LoginThrottle } from '../auth/throttle.ts'
import type { Cache } from '../stores/cache.ts'
import type { Mailer } from './mailer.ts'
import type { SiteDataEraser } from './site-data.ts'
import type { VisitorStore } from './visitor-stores.ts'

export interface AccountsSettings {
  accessTokenTtlS: number
  refreshTokenTtlS: number
  loginMaxFailures: number
  loginLockoutS: number
  loginMaxPerIp: number
  /** Anyone may sign up; false = invitations only. */
  signup: boolean
  /** Where links in emails point (invitations, password resets). */
  publicUrl: string
}

export const defaultAccountsSettings: AccountsSettings = {
  accessTokenTtlS: 900,
  refreshTokenTtlS: 30 * 86_400,
  loginMaxFailures: 5,
  loginLockoutS: 900,
  loginMaxPerIp: 100,
  signup: true,
  publicUrl: 'http://localhost:8080',
}

/** What every management plugin shares: stores, keys, sessions, throttle, mail and the visitor stores. */
export interface AccountsContext {
  pool: pg.Pool
  cache: Cache
  keys: AuthKeys
  sessions: Sessions
  throttle: LoginThrottle
  mailer: Mailer
  settings: AccountsSettings
  /** Every store holding data about a visitor, for data-subject export and deletion. */
  visitorStores: VisitorStore[]
  /** Applies a site's retention to the analytics store (ClickHouse TTL); absent = nothing to apply it to. */
  setRetention?: ((siteId: string, days: number) => Promise<void>) | undefined
  /** Erases a deleted website's analytics and actors; absent = no analytics store to erase from. */
  siteData?: SiteDataEraser | undefined
}

export function createAccountsContext(o: {
  pool: pg.Pool
  cache: Cache
  keys: AuthKeys
  mailer: Mailer
  settings?: Partial<AccountsSettings>
  visitorStores?: VisitorStore[]
  setRetention?: (siteId: string, days: number) => Promise<void>
  siteData?: SiteDataEraser
  now?: () => number
}): AccountsContext {
  const settings = { ...defaultAccountsSettings, ...o.settings }
  const access = new AccessTokens(o.keys.tokenSecret, o.cache, settings.accessTokenTtlS, o.now)
  return {
    pool: o.pool,
    cache: o.cache,
    keys: o.keys,
    sessions: new Sessions(o.pool, access, settings.refreshTokenTtlS),
    throttle: new LoginThrottle(o.cache, {
      maxFailures: settings.loginMaxFailures,
      windowS: settings.loginLockoutS,
      maxPerIp: settings.loginMaxPerIp,
    }),
    mailer: o.mailer,
    settings,
    visitorStores: o.visitorStores ?? [],
    setRetention: o.setRetention,
    siteData: o.siteData,
  }
}
