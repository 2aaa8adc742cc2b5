import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { Counter, type Registry } from 'prom-client'
import { getWebsite, type Website } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import { type AddressPolicy, isPrivateDomain } from '../page-capture/address-policy.ts'
import { BrowserPool, MAX_CAPTURE_HEIGHT } from '../page-capture/browser-pool.ts'
import { checkFraming } from '../page-capture/frame-check.ts'
import { type PageTarget, resolvePage } from '../page-capture/page-url.ts'
import { ScreenshotStore } from '../page-capture/screenshot-store.ts'
import { Screenshots } from '../page-capture/screenshots.ts'
import { principalOf } from './auth.ts'
import { qs, SiteParams, Str } from './query/params.ts'

export interface PageViewsOptions {
  pool: pg.Pool
  registry: Registry
  /** Screenshots by headless Chromium (HM_SCREENSHOTS); off, the screenshot route answers 503. */
  screenshots: boolean
  /** HM_CHROMIUM_PATH; unset = `/usr/bin/chromium` if it exists, else playwright's lookup. */
  chromiumPath?: string | undefined
  /** A screenshot younger than this is served from the store (HM_SCREENSHOT_TTL_S). */
  ttlMs: number
  /** HM_PAGE_PRIVATE_NETWORK: pages of websites on a private network may be fetched from it. */
  privateNetwork: boolean
  /** Pages captured at once (each a browser context). */
  maxPages?: number
}

const PageQuery = qs({
  url: Str(2048),
  width: Type.Optional(
    Type.Integer({ minimum: 240, maximum: 3840, description: 'Layout width in CSS px (default 1280)' }),
  ),
})
type PageParams = { url: string; width?: number }

const PageViewAnswer = Type.Object({
  url: Type.String({ description: 'The page as the console loads it: query string and fragment removed' }),
  width: Type.Integer(),
  frameable: Type.Boolean({ description: "The page's headers let the console's origin show it in a frame" }),
  reason: Type.String({ description: 'The header (or its absence) that decided' }),
  screenshots: Type.Boolean({ description: 'The screenshot route can answer on this gateway' }),
  pageHeight: Type.Optional(
    Type.Integer({ description: 'Document height at this width, when a screenshot of it was taken' }),
  ),
})

/** The address a caller reached the gateway at (through trusted proxies, as the app's trustProxy allows). */
const requestOrigin = (req: FastifyRequest): string => `${req.protocol}://${req.host}`

/**
 * The origin of the console asking: the one a frame would sit in. Browsers send Origin or Referer with
 * the console's fetches; a caller without either (curl) is taken to be on the gateway's own origin.
 */
function consoleOrigin(req: FastifyRequest): URL {
  for (const h of [req.headers.origin, req.headers.referer]) {
    if (h === undefined || h === 'null') continue
    try {
      return new URL(new URL(h).origin)
    } catch {
      // Not a URL: the next source decides.
    }
  }
  return new URL(requestOrigin(req))
}

/** Where this gateway listens, as it can reach itself (a wildcard address means loopback). */
function listening(app: FastifyInstance): { port: number; origin: string } | undefined {
  const a = app.server.address()
  if (a === null || typeof a !== 'object') return undefined
  const wildcard = a.address === '0.0.0.0' || a.address === '::'
  const host = wildcard ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address
  return { port: a.port, origin: `http://${host}:${a.port}` }
}

/**
 * The page behind a heatmap: whether the console may show the live page in a frame, and a screenshot
 * taken by the gateway's headless Chromium where it may not. Both fetch only pages of the caller's
 * website (its domain or allowed origins) and only from public addresses unless the operator allows a
 * private network for sites on one, so the gateway is no proxy into anywhere else.
 */
const pageViews: FastifyPluginAsync<PageViewsOptions> = async (app, opts) => {
  const captures = new Counter({
    name: 'hm_page_captures_total',
    help: 'Pages rendered by headless Chromium for screenshots, by result',
    labelNames: ['result'],
    registers: [opts.registry],
  })
  const blocked = new Counter({
    name: 'hm_page_capture_blocked_requests_total',
    help: 'Requests of captured pages kept from the network: SDK traffic, private addresses, other schemes',
    labelNames: ['reason'],
    registers: [opts.registry],
  })
  const lookups = new Counter({
    name: 'hm_screenshot_lookups_total',
    help: 'Screenshot requests by where the answer came from: hit (stored), miss (captured), stale',
    labelNames: ['result'],
    registers: [opts.registry],
  })
  const store = new ScreenshotStore(opts.pool)
  const browser = opts.screenshots
    ? new BrowserPool({
        executablePath: opts.chromiumPath,
        maxPages: opts.maxPages ?? 2,
        onCapture: (result) => captures.inc({ result }),
        onBlocked: (reason) => blocked.inc({ reason }),
      })
    : undefined
  const screenshots = new Screenshots({
    store,
    browser,
    ttlMs: opts.ttlMs,
    log: app.log,
    onLookup: (result) => lookups.inc({ result }),
  })
  app.addHook('onClose', async () => browser?.close())

  /** The caller's website, the page it asks about and the address policy for fetching it. */
  async function target(
    req: FastifyRequest,
  ): Promise<{ site: Website; page: PageTarget; width: number; policy: AddressPolicy }> {
    const { siteId } = req.params as { siteId: string }
    const q = req.query as PageParams
    const site = await getWebsite(opts.pool, principalOf(req).orgId, siteId)
    if (site === undefined) throw new GatewayError('HM_ERR_QUERY_NOT_FOUND', siteId)
    const self = listening(app)
    const page = resolvePage(q.url, site, { requestOrigin: requestOrigin(req), localOrigin: self?.origin })
    const policy: AddressPolicy = {
      privateNetwork: opts.privateNetwork && (await isPrivateDomain(site.domain)),
      selfPort: self?.port,
    }
    return { site, page, width: q.width ?? 1280, policy }
  }

  app.get(
    '/v1/sites/:siteId/page-view',
    {
      config: { permission: 'heatmaps:read' },
      schema: {
        description:
          'Whether the page may be shown in a frame of the console (its X-Frame-Options and CSP frame-ancestors, read by fetching it), and whether a screenshot can be had instead. `url` is a path of the website or a URL on its domain or allowed origins; others are refused (HM_ERR_PAGE_OFF_SITE).',
        params: SiteParams,
        querystring: PageQuery,
        response: { 200: PageViewAnswer },
      },
    },
    async (req) => {
      const { site, page, width, policy } = await target(req)
      const decision = await checkFraming(page.fetchUrl, page.url, consoleOrigin(req), policy)
      const pageHeight = await store.pageHeight({ siteId: site.id, url: page.url, width })
      return {
        url: page.url,
        width,
        ...decision,
        screenshots: screenshots.enabled,
        ...(pageHeight !== undefined && { pageHeight }),
      }
    },
  )

  app.get(
    '/v1/sites/:siteId/screenshot',
    {
      config: { permission: 'heatmaps:read' },
      schema: {
        description: `A PNG of the whole page rendered by headless Chromium at \`width\` CSS px (one pixel each), cut at ${MAX_CAPTURE_HEIGHT} px; kept and served again until it is older than HM_SCREENSHOT_TTL_S. Headers: x-page-height (the uncut height), x-captured-at, x-screenshot (hit, miss or stale).`,
        params: SiteParams,
        querystring: PageQuery,
        response: {
          200: {
            description: 'The screenshot',
            content: { 'image/png': { schema: Type.String({ format: 'binary' }) } },
          },
        },
      },
    },
    async (req, reply) => {
      const { site, page, width, policy } = await target(req)
      const shot = await screenshots.get({
        siteId: site.id,
        url: page.url,
        width,
        fetchUrl: page.fetchUrl,
        policy,
      })
      return reply
        .type('image/png')
        .header('cache-control', 'private, max-age=300')
        .header('x-page-height', String(shot.pageHeight))
        .header('x-captured-at', shot.capturedAt.toISOString())
        .header('x-screenshot', shot.stale ? 'stale' : shot.cached ? 'hit' : 'miss')
        .send(shot.png)
    },
  )
}

export default fp(pageViews, {
  name: 'page-views',
  encapsulate: true,
  fastify: '5.x',
  dependencies: ['hm-auth'],
})
