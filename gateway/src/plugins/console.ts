import { readFile } from 'node:fs/promises'
import { consoleBase, consoleOutputDir, consolePageHeaders, resolveConsoleAsset } from '@hm/console'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import { GatewayError } from '../errors.ts'

export interface ConsoleOptions {
  /** The console's static build; `npm run build:console` makes it. */
  outputDir?: string
}

/**
 * Serves the console — a client-rendered app built to static files — at `/console/`: its hashed assets
 * with a long cache life, and its page for every other path under it so the app's router shows the
 * route. `/` leads there unless another plugin (the demo site) has taken it. The app reads the APIs of
 * this same origin. Every route here is public: the console's page is no secret, the API behind it is
 * what the auth plugin guards.
 */
const consoleUi: FastifyPluginAsync<ConsoleOptions> = async (app, opts) => {
  const outputDir = opts.outputDir ?? consoleOutputDir
  // Pages, not API: left out of the OpenAPI document.
  const route = { config: { public: true }, schema: { hide: true } }

  const send = async (path: string, reply: FastifyReply) => {
    const asset = await resolveConsoleAsset(path, outputDir)
    if (asset === undefined) throw new GatewayError('HM_ERR_NOT_FOUND', `no console file ${path}`)
    let body: Buffer
    try {
      body = await readFile(asset.file)
    } catch (e) {
      // The page itself is missing: the console was never built (a 500 that says what to do).
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`the console is not built at ${outputDir}: run npm run build:console`)
      throw e
    }
    if (asset.contentType.startsWith('text/html')) void reply.headers(consolePageHeaders)
    return reply.type(asset.contentType).header('cache-control', asset.cacheControl).send(body)
  }

  app.get(consoleBase, route, async (_req, reply) => reply.redirect(`${consoleBase}/`))
  app.get(`${consoleBase}/*`, route, async (req, reply) => send(req.url.slice(consoleBase.length), reply))
  // Links in mails (invitations, password resets) point at the gateway's root; their token rides in the
  // fragment, which the browser keeps across the redirect.
  for (const page of ['/accept-invitation', '/reset-password'])
    app.get(page, route, async (_req, reply) => reply.redirect(`${consoleBase}${page}`))
  if (!app.hasRoute({ method: 'GET', url: '/' }))
    app.get('/', route, async (_req, reply) => reply.redirect(`${consoleBase}/`))
}

export default fp(consoleUi, { name: 'console', encapsulate: true, fastify: '5.x' })
