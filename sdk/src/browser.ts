/**
 * The SDK as an npm import, for apps that bundle their own code — the same capture as the script tag,
 * started by the app. (`index.ts` is the Node side: where the built scripts are, for the gateway.)
 *
 * @example
 * ```ts
 * import { createTracker } from '@hm/sdk/browser'
 * window.hm = createTracker({ siteKey: 'SITE_KEY', endpoint: 'https://gw.example/v1/events/collect' })
 * ```
 */
export { createTracker, type HmApi, type TrackerOptions } from './tracker.ts'
