import { readFile } from 'node:fs/promises'
import { overlayBundlePath, sdkBundlePath } from '@hm/sdk'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'

export interface SdkAssetsOptions {
  /** Serve `/sdk/hm.js` too (the demo site serves it when it is on). */
  capture: boolean
}

/**
 * The browser scripts beside the ingest API: `/sdk/overlay.js` (loaded by the capture script for a
 * site's owner) and, unless the demo site already serves it, `/sdk/hm.js`.
 */
const sdkAssets: FastifyPluginAsync<SdkAssetsOptions> = async (app, opts) => {
  const serve = (path: string, file: string) =>
    app.get(path, async (_req, reply) => {
      let js: Buffer
      try {
        js = await readFile(file)
      } catch {
        throw new Error(`the SDK bundle is missing at ${file}: run npm run build:sdk`)
      }
      return reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .send(js)
    })
  serve('/sdk/overlay.js', overlayBundlePath)
  if (opts.capture) serve('/sdk/hm.js', sdkBundlePath)
}

export default fp(sdkAssets, { name: 'sdk-assets', encapsulate: true, fastify: '5.x' })
