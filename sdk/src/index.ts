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
