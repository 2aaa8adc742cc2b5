import { readFile } from 'node:fs/promises'
import { sdkBundlePath } from '@hm/sdk'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { demoPageByPath, renderDemoPage } from '../demo/site.ts'

export interface DemoSiteOptions {
  siteKey: string
}

/** Serves the SDK bundle and the demo website (with the SDK on every page). */
const demoSite: FastifyPluginAsync<DemoSiteOptions> = async (app, opts) => {
  app.get('/sdk/hm.js', async (_req, reply) => {
    let js: Buffer
    try {
      js = await readFile(sdkBundlePath)
    } catch {
      throw new Error(`the SDK bundle is missing at ${sdkBundlePath}: run npm run build:sdk`)
    }
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(js)
  })
  app.get('/', async (_req, reply) => reply.redirect('/demo/'))
  app.get('/demo', async (_req, reply) => reply.redirect('/demo/'))
  app.get('/demo/*', async (req, reply) => {
    const path = req.url.split('?')[0]!
    const page = demoPageByPath(path)
    if (page === undefined) {
      return reply.code(404).send({ error: { code: 'HM_ERR_NOT_FOUND', message: `no demo page ${path}` } })
    }
    return reply
      .type('text/html; charset=utf-8')
      .send(renderDemoPage(page, { siteKey: opts.siteKey, sdkSrc: '/sdk/hm.js' }))
  })
}

export default fp(demoSite, { name: 'demo-site', encapsulate: true, fastify: '5.x' })
