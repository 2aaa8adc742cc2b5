import type { IncomingHttpHeaders } from 'node:http'
import { GatewayError } from '../errors.ts'
import type { AddressPolicy } from './address-policy.ts'
import { pinnedFetch } from './pinned-fetch.ts'

export interface FrameDecision {
  frameable: boolean
  /** Why not (or why, when a header allowed it explicitly), in the words of the header that decided. */
  reason: string
}

const MAX_REDIRECTS = 5

/** Where a CSP host-source may sit: `[scheme://]host[:port][/path]`, host possibly `*.` prefixed. */
const HOST_SOURCE =
  /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*|(?:\*\.)?[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d+|\*))?(?:\/.*)?$/i

const defaultPort = (scheme: string): string => (scheme === 'https' ? '443' : scheme === 'http' ? '80' : '')

/** `http` may be served as `https` (CSP's upgrade rule): a source on http also matches an https ancestor. */
const schemeMatches = (sourceScheme: string, ancestorScheme: string): boolean =>
  sourceScheme === ancestorScheme || (sourceScheme === 'http' && ancestorScheme === 'https')

/** Whether one CSP source expression allows `ancestor` as a frame ancestor of a page at `page`. */
function sourceMatches(source: string, ancestor: URL, page: URL): boolean {
  const s = source.toLowerCase()
  const scheme = ancestor.protocol.slice(0, -1)
  if (s === "'self'") return ancestor.host === page.host && schemeMatches(page.protocol.slice(0, -1), scheme)
  if (s === '*') return scheme === 'http' || scheme === 'https'
  if (/^[a-z][a-z0-9+.-]*:$/.test(s)) return schemeMatches(s.slice(0, -1), scheme)
  if (s.startsWith("'")) return false
  const m = HOST_SOURCE.exec(s)
  if (m === null) return false
  const [, srcScheme, host, port] = m
  if (
    srcScheme !== undefined
      ? !schemeMatches(srcScheme, scheme)
      : !schemeMatches(page.protocol.slice(0, -1), scheme)
  )
    return false
  const ancestorHost = ancestor.hostname.toLowerCase()
  if (host === '*') {
    // `*` alone as a host with a scheme or port: any host.
  } else if (host!.startsWith('*.')) {
    if (!ancestorHost.endsWith(host!.slice(1))) return false
  } else if (host !== ancestorHost) return false
  if (port === '*') return true
  const ancestorPort = ancestor.port || defaultPort(scheme)
  if (port !== undefined) return port === ancestorPort
  // No port: the scheme's default, with http's 80 also accepting an upgraded 443.
  const expected = defaultPort(srcScheme ?? page.protocol.slice(0, -1))
  return ancestorPort === expected || (expected === '80' && ancestorPort === '443' && scheme === 'https')
}

/** The `frame-ancestors` source lists of each enforced policy (several headers and comma-joined policies). */
function frameAncestors(headers: IncomingHttpHeaders): string[][] {
  const raw = headers['content-security-policy']
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  const lists: string[][] = []
  for (const policy of values.flatMap((v) => v.split(','))) {
    // The first occurrence of a directive in a policy is the one that counts.
    const directive = policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .find((d) => d[0]?.toLowerCase() === 'frame-ancestors')
    if (directive !== undefined) lists.push(directive.slice(1))
  }
  return lists
}

/**
 * Whether a browser would show the page (answered with `headers`, at `page` after redirects) in a frame
 * of a document at `ancestor` — the console's own origin. CSP `frame-ancestors` wins over X-Frame-Options
 * when present (every policy that has it must allow the ancestor); X-Frame-Options values Chromium does
 * not know (ALLOW-FROM) are ignored as Chromium ignores them.
 */
export function decideFraming(headers: IncomingHttpHeaders, page: URL, ancestor: URL): FrameDecision {
  const lists = frameAncestors(headers)
  if (lists.length > 0) {
    for (const list of lists) {
      const sources = list.filter((s) => s.toLowerCase() !== "'none'")
      if (!sources.some((s) => sourceMatches(s, ancestor, page)))
        return {
          frameable: false,
          reason: `Content-Security-Policy frame-ancestors ${list.join(' ') || "'none'"} does not allow ${ancestor.origin}`,
        }
    }
    return { frameable: true, reason: `Content-Security-Policy frame-ancestors allows ${ancestor.origin}` }
  }
  const xfo = headers['x-frame-options']
  const values = (Array.isArray(xfo) ? xfo.join(',') : (xfo ?? ''))
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== '')
  if (values.includes('deny')) return { frameable: false, reason: 'X-Frame-Options: DENY' }
  if (values.includes('sameorigin')) {
    return page.origin === ancestor.origin
      ? { frameable: true, reason: 'X-Frame-Options: SAMEORIGIN, and the console is on the same origin' }
      : { frameable: false, reason: `X-Frame-Options: SAMEORIGIN (the page is on ${page.origin})` }
  }
  return { frameable: true, reason: 'no X-Frame-Options or frame-ancestors' }
}

/**
 * Fetches the page (its headers only, redirects followed, each hop checked by the address policy) and
 * decides whether the console at `ancestor` may frame it. A page that does not answer 2xx is an error:
 * neither a frame nor a screenshot would show the page.
 */
export async function checkFraming(
  fetchUrl: string,
  shownUrl: string,
  ancestor: URL,
  policy: AddressPolicy,
): Promise<FrameDecision> {
  let at = new URL(fetchUrl)
  let shown = new URL(shownUrl)
  for (let hop = 0; ; hop++) {
    const r = await pinnedFetch(at, {
      policy,
      headersOnly: true,
      timeoutMs: 10_000,
      headers: { accept: 'text/html,application/xhtml+xml', 'user-agent': CHECK_UA },
    })
    const location = r.headers.location
    if (r.status >= 300 && r.status < 400 && location !== undefined) {
      if (hop >= MAX_REDIRECTS)
        throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `more than ${MAX_REDIRECTS} redirects`)
      const next = new URL(location, at)
      // The frame follows the redirect from the address the console knows the page by.
      shown = at.origin === shown.origin ? next : new URL(location, shown)
      at = next
      continue
    }
    if (r.status < 200 || r.status >= 300)
      throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${shown.href} answered ${r.status}`)
    return decideFraming(r.headers, shown, ancestor)
  }
}

const CHECK_UA = 'Mozilla/5.0 (compatible; HeatmapPageCheck/1.0)'
