import type { WireEvent } from '@hm/actors'

/**
 * Crawlers, headless and automated browsers, monitoring and preview tools: they run pages (and so the
 * SDK) but are not visitors. Plain HTTP clients (curl, server SDKs) are not here on purpose: they do not
 * run pages, so their batches are integrations posting on purpose (the README shows one).
 */
const BOT_UA =
  /(?<!cu)bot\b|crawl|spider|slurp|headless|phantomjs|selenium|webdriver|puppeteer|playwright|lighthouse|pagespeed|gtmetrix|pingdom|uptimerobot|prerender|facebookexternalhit|embedly|bingpreview|ia_archiver|screenshot/i

export function isBotUserAgent(ua: string | undefined): boolean {
  return ua !== undefined && BOT_UA.test(ua)
}

/** Whether a request says it comes from a browser — the only traffic a person's pace applies to. */
export function isBrowserUserAgent(ua: string | undefined): boolean {
  return ua?.startsWith('Mozilla/') === true
}

/**
 * Clicks and page views per second of the events' own clock that no person produces: the fastest human
 * clicking is about 15 per second; a rage-click burst about 8.
 */
export const MAX_CLICKS_PER_S = 20
export const MAX_PAGEVIEWS_PER_S = 10

/** The most events of `type` that fall within any one second of their timestamps. */
function densest(events: readonly WireEvent[], type: WireEvent['type']): number {
  const ts: number[] = []
  let sorted = true
  for (const e of events) {
    if (e.type !== type) continue
    if (ts.length > 0 && e.ts < ts[ts.length - 1]!) sorted = false
    ts.push(e.ts)
  }
  if (ts.length <= 1) return ts.length
  // The SDK sends events in the order they happened: sorting (and its copy) is for the batches that are not.
  if (!sorted) ts.sort((a, b) => a - b)
  let best = 1
  let lo = 0
  for (let hi = 0; hi < ts.length; hi++) {
    while (ts[hi]! - ts[lo]! >= 1000) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/** True when a browser's batch shows a pace no person has. */
export function impossiblePace(events: readonly WireEvent[]): boolean {
  return densest(events, 'click') > MAX_CLICKS_PER_S || densest(events, 'pageview') > MAX_PAGEVIEWS_PER_S
}
