/**
 * The capture script, bundled by `sdk/build.ts` into `sdk/dist/hm.js` (IIFE, no dependencies):
 *
 * ```html
 * <script src="https://gateway.example/sdk/hm.js" data-site="SITE_KEY" defer></script>
 * ```
 *
 * Attributes: `data-site` (required), `data-endpoint` (default `/v1/events/collect`, resolved against the
 * script's own URL), `data-consent-required="true"`. It also starts the live-site overlay: opened with
 * `#hm-overlay=<site id>:<api key>`, the page keeps the credentials for the tab (sessionStorage), drops
 * them from the address bar and loads `overlay.js` from beside this script — and captures nothing, since
 * the owner looking at a heatmap is not a visitor.
 */
import { createTracker, type HmApi } from './tracker.ts'

declare global {
  interface Window {
    hm?: HmApi
  }
}

const OVERLAY_KEY = 'hm_overlay'

function overlayRequested(): boolean {
  try {
    const m = /(?:^#|&)hm-overlay=([^&]+)/.exec(location.hash)
    if (m) {
      sessionStorage.setItem(OVERLAY_KEY, decodeURIComponent(m[1]!))
      history.replaceState(history.state, '', location.pathname + location.search)
    }
    return !!sessionStorage.getItem(OVERLAY_KEY)
  } catch {
    return false
  }
}

function start(): void {
  // Loaded twice (tag pasted twice, or in both head and body): the first copy does the work.
  if (window.hm?.stats) return
  const script = (document.currentScript ??
    document.querySelector('script[data-site]')) as HTMLScriptElement | null
  const attr = (name: string) => script?.getAttribute(name)
  // A relative endpoint is resolved against the script's own URL: the gateway that serves the script is
  // the one that takes the events, wherever the page itself lives.
  const src = script?.src || location.href
  let endpoint: string
  try {
    endpoint = new URL(attr('data-endpoint') || '/v1/events/collect', src).href
  } catch {
    console.warn('hm: data-endpoint is not a URL; capturing nothing')
    return
  }
  const overlay = overlayRequested()
  window.hm = createTracker({
    siteKey: attr('data-site') ?? '',
    endpoint,
    consentRequired: attr('data-consent-required') === 'true',
    disabled: overlay,
  })
  if (overlay) {
    const s = document.createElement('script')
    s.src = new URL('overlay.js', src).href
    s.async = true
    document.head.appendChild(s)
  }
}

start()
