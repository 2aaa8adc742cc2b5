import type { ClusterStatus } from '@hm/runtime'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { GatewayError } from '../errors.ts'
import type { Principal } from './auth.ts'

export interface ClusterRouteOptions {
  /** Who a token (an access token or an API key) names; the auth plugin's `authenticate`. */
  authenticate: (token: string) => Promise<Principal>
  /** This node's view of the cluster. */
  status: () => ClusterStatus
}

const Holder = Type.Union([Type.String(), Type.Null()])
const ClusterView = Type.Object({
  nodeId: Type.String({ description: 'The node that answered' }),
  members: Type.Array(Type.String(), { description: 'Live members as this node sees them' }),
  shards: Type.Array(Type.Integer(), { description: 'Shards this node pulls now' }),
  placement: Type.Array(Holder, { description: 'Where each shard should be (index = shard)' }),
  leaseHolders: Type.Array(Holder, {
    description: "Holder of each shard's lease in KV (index = shard; null: free)",
  }),
})

/**
 * `GET /v1/cluster`: members and shard ownership, as the answering node sees them (cluster mode only).
 * For instance operators (`instance:read`, which no organisation role or API key holds): the cluster is
 * every tenant's, so no organisation's member may see it as such. Registered before the auth plugin (it
 * is cluster mode's extension), it checks its caller itself.
 */
const cluster: FastifyPluginAsync<ClusterRouteOptions> = async (app, opts) => {
  app.get(
    '/v1/cluster',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Cluster members and shard ownership',
        response: { 200: ClusterView },
      },
      onRequest: async (req) => {
        const auth = req.headers.authorization
        if (auth === undefined || !auth.startsWith('Bearer ')) throw new GatewayError('HM_ERR_AUTH_MISSING')
        const principal = await opts.authenticate(auth.slice(7).trim())
        if (!principal.permissions.includes('instance:read'))
          throw new GatewayError('HM_ERR_AUTH_FORBIDDEN', 'needs instance:read (instance operators only)')
      },
    },
    async (_req, reply) => reply.header('cache-control', 'no-store').send(opts.status()),
  )
}

export default fp(cluster, { name: 'cluster', encapsulate: true, fastify: '5.x' })
