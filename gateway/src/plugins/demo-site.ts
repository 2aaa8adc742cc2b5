import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { demoPageByPath, renderDemoPage } from '../demo/site.ts'

export interface DemoSiteOptions {
  siteKey: string
}

/** Serves the demo website, with the SDK (served by the sdk-assets plugin) on every page. */
const demoSite: FastifyPluginAsync<DemoSiteOptions> = async (app, opts) => {
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
