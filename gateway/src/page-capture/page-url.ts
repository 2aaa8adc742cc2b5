import { GatewayError } from '../errors.ts'
import { originListed } from '../origins.ts'
import { isLoopbackName } from './address-policy.ts'

/** What a website says about where its pages live. */
export interface SiteLocation {
  domain: string
  allowedOrigins: readonly string[]
}

/** A page of a website as the console shows it, and where the gateway itself fetches it. */
export interface PageTarget {
  /** The page's URL as a browser opens it (query string and fragment removed): also the cache key. */
  url: string
  /**
   * Where the gateway fetches it: the same URL, except a page of the gateway itself (the embedded demo
   * site) is read from the gateway's own listening address, whatever address the console reached it by.
   */
  fetchUrl: string
}

/**
 * The URL of a page view as the SDK reports it: origin, path and an SPA route (`#/…`, `#!/…`) without its
 * own query. Query strings and other fragments may carry personal data (tokens, emails), so they are never
 * fetched, shown or cached. The same rule as `cleanUrl` in `sdk/src/url.ts` (a test holds them together).
 */
export function cleanPageUrl(u: URL): string {
  const h = u.hash
  const route = h.startsWith('#/') || h.startsWith('#!/') ? h.split('?')[0]! : ''
  return (u.origin + u.pathname + route).slice(0, 2048)
}

/** The host part of a website's domain setting, lower case (`https://Shop.example/` → `shop.example`). */
function domainHost(domain: string): { host: string; port: string | undefined } {
  const bare = domain
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/\/.*$/, '')
    .replace(/\.$/, '')
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(bare)
  return { host: m?.[1] ?? bare, port: m?.[2] }
}

/** Whether `u` is a page of the website: on its domain (or a subdomain), or at one of its allowed origins. */
export function onSite(u: URL, site: SiteLocation): boolean {
  const { host, port } = domainHost(site.domain)
  const urlHost = u.hostname.toLowerCase()
  const hostOk =
    urlHost === host ||
    urlHost.endsWith(`.${host}`) ||
    // `localhost`, 127.0.0.1 and ::1 are one machine, whichever name the site was registered under.
    (isLoopbackName(host) && isLoopbackName(urlHost))
  if (hostOk && (port === undefined || u.port === port)) return true
  return originListed(u.origin, site.allowedOrigins)
}

/**
 * Resolves the `url` a caller asks about to a page of the website, or refuses it: a URL off the website's
 * domain and allowed origins would make the gateway a proxy for any address. A path (`/pricing`, as the
 * heatmap's page list shows it) is taken on the site's first listed origin, else its domain over https;
 * a site on `localhost` without listed origins is the gateway's own demo, so the path is on the origin the
 * caller reached the gateway at.
 *
 * @example
 * resolvePage('/pricing?utm=x', { domain: 'shop.example', allowedOrigins: [] }, gateway).url
 * // 'https://shop.example/pricing'
 */
export function resolvePage(
  raw: string,
  site: SiteLocation,
  gateway: { requestOrigin: string; localOrigin: string | undefined },
): PageTarget {
  const fixedOrigin = site.allowedOrigins.find((o) => !o.includes('*'))
  const self = isLoopbackName(domainHost(site.domain).host) && fixedOrigin === undefined
  let u: URL
  if (raw.startsWith('/') && !raw.startsWith('//')) {
    const base = fixedOrigin ?? (self ? gateway.requestOrigin : `https://${domainHost(site.domain).host}`)
    u = new URL(raw, base)
  } else {
    try {
      u = new URL(raw)
    } catch {
      throw new GatewayError('HM_ERR_QUERY_BAD_PARAM', 'url: not an absolute URL or a path starting with /')
    }
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new GatewayError('HM_ERR_QUERY_BAD_PARAM', `url: ${u.protocol} is not http or https`)
  if (u.username !== '' || u.password !== '')
    throw new GatewayError('HM_ERR_QUERY_BAD_PARAM', 'url: credentials in a URL are not fetched')
  const url = cleanPageUrl(u)
  const atGateway = self && u.origin === gateway.requestOrigin
  if (!atGateway && !onSite(u, site))
    throw new GatewayError(
      'HM_ERR_PAGE_OFF_SITE',
      `url: ${u.host} is not ${site.domain} or one of the website's allowed origins`,
    )
  const fetchUrl =
    atGateway && gateway.localOrigin !== undefined
      ? cleanPageUrl(new URL(u.pathname + u.hash, gateway.localOrigin))
      : url
  return { url, fetchUrl }
}
