import { fileURLToPath } from 'node:url'

/**
 * Absolute path of the built capture script (`npm run build:sdk` writes it), for the gateway to serve
 * as `/sdk/hm.js`.
 *
 * @example
 * ```ts
 * import { sdkBundlePath } from '@hm/sdk'
 * app.get('/sdk/hm.js', (_req, reply) => reply.type('text/javascript').send(createReadStream(sdkBundlePath)))
 * ```
 */
export const sdkBundlePath: string = fileURLToPath(new URL('../dist/hm.js', import.meta.url))

/**
 * Absolute path of the built live-site overlay, served as `/sdk/overlay.js` beside the capture script
 * (which loads it for a signed-in owner).
 */
export const overlayBundlePath: string = fileURLToPath(new URL('../dist/overlay.js', import.meta.url))
