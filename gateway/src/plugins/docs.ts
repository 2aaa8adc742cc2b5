import swagger from '@fastify/swagger'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { gatewayErrors } from '../errors.ts'

/**
 * The OpenAPI document, built from the route schemas registered after this plugin. Registered before
 * every feature so it sees them all; the UI itself (`docsUi`) is served at `/docs`, the document at
 * `/docs/json`.
 */
const docs: FastifyPluginAsync = async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Heatmap platform API',
        version: '1',
        description:
          'Every error has one body, `{"error": {"code": "HM_ERR_…", "message": "…"}}`; the codes are listed under `x-error-codes`. ' +
          'Authenticate with `Authorization: Bearer <access token>` (from /v1/auth/login) or `Bearer hm_…` (an API key).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'access token (JWT) or API key' },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: {
                  code: { type: 'string', enum: Object.keys(gatewayErrors) },
                  message: { type: 'string' },
                },
              },
            },
          },
        },
      },
      'x-error-codes': Object.fromEntries(Object.entries(gatewayErrors).map(([k, v]) => [k, v])),
    } as never,
  })
}

export default fp(docs, { name: 'hm-docs' })

/** The Swagger UI at /docs (register after every route so the document is complete). */
export const docsUi: FastifyPluginAsync = async (app) => {
  const ui = (await import('@fastify/swagger-ui')).default
  await app.register(ui, { routePrefix: '/docs' })
}
