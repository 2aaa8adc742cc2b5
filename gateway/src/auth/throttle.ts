import { GatewayError } from '../errors.ts'
import type { Cache } from '../stores/cache.ts'

export interface ThrottleSettings {
  /** Failed sign-ins of one account within the window before it is locked for the rest of it. */
  maxFailures: number
  windowS: number
  /** Sign-in attempts from one client address within the window, whatever the account. */
  maxPerIp: number
}

/**
 * Login throttling and lockout, counted in the cache (Redis in a cluster, so every gateway sees the same
 * counts). An account locks after `maxFailures` failures and unlocks when its window ends; while locked,
 * even the right password is refused, so guessing gains nothing.
 */
export class LoginThrottle {
  constructor(
    private readonly cache: Cache,
    private readonly settings: ThrottleSettings,
  ) {}

  private ttlMs(): number {
    return this.settings.windowS * 1000
  }

  /** Throws before any password is checked when the address or the account is over its limit. */
  async check(email: string, ip: string): Promise<void> {
    const attempts = await this.cache.incr(`login-ip:${ip}`, this.ttlMs())
    if (attempts > this.settings.maxPerIp)
      throw new GatewayError(
        'HM_ERR_AUTH_THROTTLED',
        `more than ${this.settings.maxPerIp} attempts`,
        this.settings.windowS,
      )
    const failures = Number((await this.cache.get(`login-fail:${email}`)) ?? 0)
    if (failures >= this.settings.maxFailures)
      throw new GatewayError('HM_ERR_AUTH_LOCKED', `${failures} failed attempts`, this.settings.windowS)
  }

  /** Counts a failure; returns true when this one locked the account. */
  async failed(email: string): Promise<boolean> {
    const n = await this.cache.incr(`login-fail:${email}`, this.ttlMs())
    return n === this.settings.maxFailures
  }

  async succeeded(email: string): Promise<void> {
    await this.cache.del(`login-fail:${email}`)
  }
}
