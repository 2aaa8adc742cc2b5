import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { listConsent, recordConsent } from '../accounts/consent.ts'
import type { AccountsContext } from '../accounts/context.ts'
import { deletionStatus, VisitorDeletions } from '../accounts/privacy.ts'
import { Body, bearer, needs, open, Uuid } from '../accounts/schemas.ts'
import { getWebsite, siteByKey } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import { originAllowed } from '../origins.ts'
import { principalOf } from './auth.ts'

const VisitorId = Type.String({ minLength: 1, maxLength: 128 })
const Deletion = Type.Object({
  id: Type.String(),
  siteId: Type.String(),
  visitorId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('done'), Type.Literal('failed')]),
  stores: Type.Record(Type.String(), Type.Record(Type.String(), Type.Number())),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
})
const VisitorParams = Type.Object({ siteId: Uuid, visitorId: VisitorId })
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()])
const ConsentRecord = Type.Object({
  id: Type.Integer(),
  visitorId: Type.String(),
  granted: Type.Boolean(),
  source: Type.Union([Type.Literal('sdk'), Type.Literal('api')]),
  at: Type.String(),
  ip: Nullable(Type.String({ description: 'Anonymised (a /24 or /48); null: discarded, or withheld' })),
  userAgent: Nullable(Type.String({ description: 'null: not sent, or withheld' })),
})
const tags = ['privacy']

const cors = (reply: FastifyReply) =>
  reply.header('access-control-allow-origin', '*').header('access-control-allow-headers', 'content-type')

/** Consent records (from the SDK and the API), data-subject access and visitor deletion across stores. */
const privacy: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  const { pool, keys } = ctx
  const deletions = new VisitorDeletions(pool, ctx.visitorStores, (err) =>
    app.log.error({ err }, 'visitor deletion failed'),
  )
  app.addHook('onClose', () => deletions.idle())

  const siteOf = async (orgId: string, siteId: string) => {
    const site = await getWebsite(pool, orgId, siteId)
    if (site === undefined) throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `website ${siteId}`)
    return site
  }

  app.options('/v1/consent', { config: open(), schema: { hide: true } }, async (_req, reply) =>
    cors(reply).header('access-control-allow-methods', 'POST').code(204).send(),
  )

  app.post<{ Body: { siteKey: string; visitorId: string; granted: boolean } }>(
    '/v1/consent',
    {
      config: open('consent.sdk'),
      schema: {
        tags,
        summary: "A visitor's consent decision, from the SDK (site key, allowed origins apply)",
        body: Body({
          siteKey: Type.String({ minLength: 1, maxLength: 100 }),
          visitorId: VisitorId,
          granted: Type.Boolean(),
        }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      cors(reply)
      const site = await siteByKey(pool, ctx.cache, req.body.siteKey)
      if (site === undefined) throw new GatewayError('HM_ERR_INGEST_UNKNOWN_SITE', req.body.siteKey)
      const origin = req.headers.origin
      if (origin !== undefined && !originAllowed(origin, site.allowedOrigins))
        throw new GatewayError('HM_ERR_INGEST_ORIGIN_DENIED', origin)
      const full = await getWebsite(pool, site.orgId, site.id)
      await recordConsent(pool, ctx.cache, keys.cipher, {
        siteId: site.id,
        visitorId: req.body.visitorId,
        granted: req.body.granted,
        source: 'sdk',
        ip: req.ip,
        userAgent: req.headers['user-agent'],
        ipHandling: full?.ipHandling ?? 'anonymize',
      })
      // Visitors' decisions are not management actions: they stay out of the audit log.
      return reply.code(204).send()
    },
  )

  app.post<{ Params: { siteId: string }; Body: { visitorId: string; granted: boolean } }>(
    '/v1/sites/:siteId/consent',
    {
      config: needs('privacy:write', 'consent.api'),
      schema: {
        tags,
        security: bearer,
        summary: "Record a visitor's consent from your own systems (a consent platform, a back office)",
        params: Type.Object({ siteId: Uuid }),
        body: Body({ visitorId: VisitorId, granted: Type.Boolean() }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const site = await siteOf(principalOf(req).orgId, req.params.siteId)
      await recordConsent(pool, ctx.cache, keys.cipher, {
        siteId: site.id,
        visitorId: req.body.visitorId,
        granted: req.body.granted,
        source: 'api',
        ip: undefined,
        userAgent: undefined,
        ipHandling: site.ipHandling,
      })
      return reply.code(204).send()
    },
  )

  app.get<{
    Params: { siteId: string }
    Querystring: { visitorId?: string; before?: number; limit?: number }
  }>(
    '/v1/sites/:siteId/consent',
    {
      config: needs('privacy:read', 'consent.list'),
      schema: {
        tags,
        security: bearer,
        summary: "The site's consent log: visitors' decisions, newest first",
        description:
          'Addresses and user agents are shown to callers holding privacy:write (they answer data-subject requests); to the others they are withheld (null, `personalData: withheld`): reading the log needs when and what each visitor decided, not who they were. Page with `before` = the `nextBefore` of the previous page.',
        params: Type.Object({ siteId: Uuid }),
        querystring: Type.Object(
          {
            visitorId: Type.Optional(VisitorId),
            before: Type.Optional(Type.Integer({ minimum: 1, description: 'records older than this id' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            siteId: Type.String(),
            personalData: Type.Union([Type.Literal('shown'), Type.Literal('withheld')]),
            records: Type.Array(ConsentRecord),
            nextBefore: Type.Union([Type.Integer(), Type.Null()], {
              description: 'The next page (older records); null: this is the last',
            }),
          }),
        },
      },
    },
    async (req) => {
      const me = principalOf(req)
      const site = await siteOf(me.orgId, req.params.siteId)
      const limit = req.query.limit ?? 50
      const personalData = me.permissions.includes('privacy:write')
      const records = await listConsent(pool, keys.cipher, {
        siteId: site.id,
        visitorId: req.query.visitorId,
        before: req.query.before,
        limit,
        personalData,
      })
      req.auditInfo = { target: site.id, details: { personalData, records: records.length } }
      return {
        siteId: site.id,
        personalData: personalData ? ('shown' as const) : ('withheld' as const),
        records,
        nextBefore: records.length === limit ? records.at(-1)!.id : null,
      }
    },
  )

  app.get<{ Params: { siteId: string; visitorId: string } }>(
    '/v1/sites/:siteId/visitors/:visitorId',
    {
      config: needs('privacy:read', 'privacy.export'),
      schema: {
        tags,
        security: bearer,
        summary: 'Data-subject access: everything stored about a visitor id, as JSON',
        params: VisitorParams,
        response: {
          200: Type.Object({
            siteId: Type.String(),
            visitorId: Type.String(),
            exportedAt: Type.String(),
            stores: Type.Record(Type.String(), Type.Record(Type.String(), Type.Array(Type.Unknown()))),
          }),
        },
      },
    },
    async (req) => {
      const site = await siteOf(principalOf(req).orgId, req.params.siteId)
      const stores: Record<string, Record<string, unknown[]>> = {}
      for (const s of ctx.visitorStores)
        if (s.export !== undefined) stores[s.name] = await s.export(site.id, req.params.visitorId)
      req.auditInfo = { target: `${site.id}/${req.params.visitorId}` }
      return {
        siteId: site.id,
        visitorId: req.params.visitorId,
        exportedAt: new Date().toISOString(),
        stores,
      }
    },
  )

  app.delete<{ Params: { siteId: string; visitorId: string } }>(
    '/v1/sites/:siteId/visitors/:visitorId',
    {
      config: needs('privacy:write', 'privacy.delete'),
      schema: {
        tags,
        security: bearer,
        summary:
          "Delete a visitor's data from every store; answers at once with a request whose status can be checked",
        params: VisitorParams,
        response: { 202: Deletion },
      },
    },
    async (req, reply) => {
      const me = principalOf(req)
      const site = await siteOf(me.orgId, req.params.siteId)
      const d = await deletions.request({
        orgId: me.orgId,
        siteId: site.id,
        visitorId: req.params.visitorId,
        requestedBy: me.userId ?? null,
      })
      req.auditInfo = { target: `${site.id}/${req.params.visitorId}`, details: { deletion: d.id } }
      return reply.code(202).send(d)
    },
  )

  app.get<{ Params: { deletionId: string } }>(
    '/v1/deletions/:deletionId',
    {
      config: needs('privacy:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'The status of a visitor deletion, with what each store removed',
        params: Type.Object({ deletionId: Uuid }),
        response: { 200: Deletion },
      },
    },
    async (req) => {
      const d = await deletionStatus(pool, principalOf(req).orgId, req.params.deletionId)
      if (d === undefined)
        throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `deletion ${req.params.deletionId}`)
      return d
    },
  )
}

export default privacy
