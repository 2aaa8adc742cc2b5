import Bowser from 'bowser'

/** The kinds of device the session analytics split by. */
export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | 'unknown'

export interface UserAgentInfo {
  device: DeviceType
  /** Browser name as bowser reports it (`Chrome`, `Safari`, …); undefined when unknown. */
  browser: string | undefined
  /** Operating system name (`Windows`, `iOS`, …); undefined when unknown. */
  os: string | undefined
}

const DEVICES = new Set<string>(['desktop', 'mobile', 'tablet', 'tv', 'bot'])
const CACHE_MAX = 2000
const UNKNOWN: UserAgentInfo = Object.freeze({ device: 'unknown', browser: undefined, os: undefined })

/**
 * Device, browser and OS of a User-Agent header. Parsing runs a few dozen regular expressions, and a
 * site's visitors share a few hundred strings, so results are kept in a small bounded map.
 */
export class UserAgentParser {
  private readonly seen = new Map<string, UserAgentInfo>()

  parse(ua: string | undefined): UserAgentInfo {
    if (ua === undefined || ua.trim() === '') return UNKNOWN
    const key = ua.slice(0, 512)
    const hit = this.seen.get(key)
    if (hit !== undefined) return hit
    const r = Bowser.parse(key)
    const type = r.platform.type ?? ''
    const info: UserAgentInfo = Object.freeze({
      device: DEVICES.has(type) ? (type as DeviceType) : 'unknown',
      browser: r.browser.name || undefined,
      os: r.os.name || undefined,
    })
    if (this.seen.size >= CACHE_MAX) this.seen.delete(this.seen.keys().next().value!)
    this.seen.set(key, info)
    return info
  }
}
