import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AccountsContext } from '../accounts/context.ts'
import { Body, bearer, Name, needs, Uuid } from '../accounts/schemas.ts'
import {
  createWebsite,
  deleteWebsite,
  getWebsite,
  listWebsites,
  updateWebsite,
  type WebsiteChange,
} from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import { principalOf } from './auth.ts'

const Origin = Type.String({ pattern: '^https?://[^/\\s]+$', maxLength: 300 })
const Settings = {
  domain: Type.String({ minLength: 1, maxLength: 253 }),
  allowedOrigins: Type.Array(Origin, {
    maxItems: 100,
    description: 'Origins the SDK may post from; empty = any',
  }),
  consentRequired: Type.Boolean({ description: 'Capture nothing until the visitor consents' }),
  masking: Type.Union([Type.Literal('standard'), Type.Literal('strict')], {
    description: 'strict: selectors keep only tags and positions, never ids or classes',
  }),
  ipHandling: Type.Union([Type.Literal('anonymize'), Type.Literal('discard')], {
    description: 'Consent records keep the anonymised address, or none',
  }),
  retentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  urlRules: Type.Object(
    {
      fragmentRoutes: Type.Optional(
        Type.Boolean({
          description:
            'Single-page-app routes (#/…) are pages of their own (default); false folds them into the path',
        }),
      ),
    },
    { additionalProperties: false, description: 'How page URLs are normalised (query strings never count)' },
  ),
}
const Website = Type.Object({
  id: Type.String(),
  name: Type.String(),
  siteKey: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  ...Settings,
})
const SiteParams = Type.Object({ siteId: Uuid })
const tags = ['websites']

/** Websites of the caller's organisation: CRUD, site key, allowed origins, privacy and URL settings. */
const websites: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  const { pool, cache } = ctx
  const notFound = (id: string) => new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `website ${id}`)
  const applyRetention = async (siteId: string, days: number | undefined) => {
    if (days !== undefined && ctx.setRetention !== undefined) await ctx.setRetention(siteId, days)
  }

  app.get(
    '/v1/sites',
    {
      config: needs('sites:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'Websites of your organisation',
        response: { 200: Type.Array(Website) },
      },
    },
    async (req) => listWebsites(pool, principalOf(req).orgId),
  )

  app.post<{ Body: { name: string; domain: string } & WebsiteChange }>(
    '/v1/sites',
    {
      config: needs('sites:write', 'website.create'),
      schema: {
        tags,
        security: bearer,
        summary: 'Add a website; its site key goes in the SDK tag',
        body: Body({
          name: Name,
          domain: Settings.domain,
          ...Object.fromEntries(
            Object.entries(Settings)
              .filter(([k]) => k !== 'domain')
              .map(([k, v]) => [k, Type.Optional(v)]),
          ),
        }),
        response: { 201: Website },
      },
    },
    async (req, reply) => {
      const site = await createWebsite(pool, principalOf(req).orgId, req.body)
      req.auditInfo = { target: site.id, details: { name: site.name } }
      await applyRetention(site.id, req.body.retentionDays)
      return reply.code(201).send(site)
    },
  )

  app.get<{ Params: { siteId: string } }>(
    '/v1/sites/:siteId',
    {
      config: needs('sites:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'One website',
        params: SiteParams,
        response: { 200: Website },
      },
    },
    async (req) => {
      const site = await getWebsite(pool, principalOf(req).orgId, req.params.siteId)
      if (site === undefined) throw notFound(req.params.siteId)
      return site
    },
  )

  app.patch<{ Params: { siteId: string }; Body: WebsiteChange }>(
    '/v1/sites/:siteId',
    {
      config: needs('sites:write', 'website.update'),
      schema: {
        tags,
        security: bearer,
        summary: 'Change a website: name, origins, privacy, retention, URL rules',
        params: SiteParams,
        body: Body({
          name: Type.Optional(Name),
          ...Object.fromEntries(Object.entries(Settings).map(([k, v]) => [k, Type.Optional(v)])),
        }),
        response: { 200: Website },
      },
    },
    async (req) => {
      const site = await updateWebsite(pool, cache, principalOf(req).orgId, req.params.siteId, req.body)
      if (site === undefined) throw notFound(req.params.siteId)
      req.auditInfo = { target: site.id, details: { changed: Object.keys(req.body) } }
      await applyRetention(site.id, req.body.retentionDays)
      return site
    },
  )

  app.delete<{ Params: { siteId: string } }>(
    '/v1/sites/:siteId',
    {
      config: needs('sites:write', 'website.delete'),
      schema: {
        tags,
        security: bearer,
        summary:
          'Delete a website, its settings and all its data (heatmaps, sessions, events, live actor state); answers once it is gone',
        params: SiteParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const orgId = principalOf(req).orgId
      const site = await getWebsite(pool, orgId, req.params.siteId)
      if (site === undefined) throw notFound(req.params.siteId)
      // What each store removed, in the audit record (a failed erase shows there with its status).
      const removed: Record<string, number> = {}
      req.auditInfo = { target: site.id, details: { name: site.name, removed } }
      const erase = async () => {
        if (ctx.siteData === undefined) return
        for (const [what, n] of Object.entries(await ctx.siteData.erase(site.id)))
          removed[what] = (removed[what] ?? 0) + n
      }
      // Erased while the site still exists, so a failure leaves a site that can be deleted again; then once
      // more after the website is gone, for what was accepted in between. After it ingestion refuses the key
      // (its cache entry is dropped; a lookup racing the delete could put it back for its 30 s TTL).
      await erase()
      if (!(await deleteWebsite(pool, cache, orgId, site.id))) throw notFound(site.id)
      await erase()
      return reply.code(204).send()
    },
  )
}

export default websites
