import { readFile } from 'node:fs/promises'
import { overlayBundlePath, sdkBundlePath } from '@hm/sdk'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'

/**
 * The browser scripts beside the ingest API: `/sdk/hm.js` (the capture script every tracked page loads)
 * and `/sdk/overlay.js` (loaded by the capture script for a site's owner). Each is read from disk once.
 */
const sdkAssets: FastifyPluginAsync = async (app) => {
  const serve = (path: string, file: string) => {
    let cached: Promise<Buffer> | undefined
    app.get(path, async (_req, reply) => {
      cached ??= readFile(file)
      let js: Buffer
      try {
        js = await cached
      } catch {
        // Not cached: a build that lands later is picked up by the next request.
        cached = undefined
        throw new Error(`the SDK bundle is missing at ${file}: run npm run build:sdk`)
      }
      return reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .send(js)
    })
  }
  serve('/sdk/hm.js', sdkBundlePath)
  serve('/sdk/overlay.js', overlayBundlePath)
}

export default fp(sdkAssets, { name: 'sdk-assets', encapsulate: true, fastify: '5.x' })
