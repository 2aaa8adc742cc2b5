/**
 * Whether `origin` is one of a website's allowed origins: an exact origin, or `scheme://*.domain` for
 * the domain's subdomains (not the domain itself).
 */
export function originListed(origin: string, allowed: readonly string[]): boolean {
  for (const a of allowed) {
    if (a === origin) return true
    const star = a.indexOf('://*.')
    if (star < 0) continue
    const scheme = a.slice(0, star + 3)
    const domain = a.slice(star + 4)
    if (origin.startsWith(scheme) && origin.endsWith(domain) && origin.length > scheme.length + domain.length)
      return true
  }
  return false
}

/** Whether a browser at `origin` may send a website events: any origin while it lists none. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.length === 0 || originListed(origin, allowed)
}
