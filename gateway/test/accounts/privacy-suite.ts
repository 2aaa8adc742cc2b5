import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Platform } from '../../src/index.ts'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'

type Api = (
  method: string,
  path: string,
  o?: { token?: string; body?: unknown; headers?: Record<string, string> },
) => Promise<{
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: answers of every route's shape, read by the tests
  body: any
}>

/**
 * Consent, data-subject export and deletion of a visitor across every store, on the whole platform
 * (ingestion, actors, ClickHouse on chDB, the app database and cache named by `env`).
 */
export function privacySuite(
  title: string,
  env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>,
) {
  describe(title, () => {
    let platform: Platform
    let stop: () => Promise<void>
    let cleanup: () => Promise<void>
    let api: Api
    let token: string
    let site: { id: string; siteKey: string }
    let apiKey: string

    before(async () => {
      const e = await env()
      cleanup = e.cleanup
      ;({ platform, stop } = await startTestPlatform(e.env))
      api = async (method, path, o = {}) => {
        const r = await fetch(`${platform.url}${path}`, {
          method,
          headers: {
            ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
            ...o.headers,
          },
          ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
        })
        const text = await r.text()
        return { status: r.status, body: text === '' ? undefined : JSON.parse(text) }
      }
      const demo = platform.demo!
      const login = await api('POST', '/v1/auth/login', {
        body: { email: demo.email, password: demo.password },
      })
      assert.equal(login.status, 200, JSON.stringify(login.body))
      token = login.body.accessToken
      const s = await api('POST', '/v1/sites', { token, body: { name: 'shop', domain: 'shop.example' } })
      assert.equal(s.status, 201)
      site = s.body
      apiKey = (
        await api('POST', '/v1/api-keys', { token, body: { name: 'reader', scopes: ['sessions:read'] } })
      ).body.key
    })
    after(async () => {
      await stop?.()
      await cleanup?.()
    })

    const visit = async (visitorId: string, sessionId: string, n: number) => {
      const b = {
        ...batch(
          site.siteKey,
          Array.from({ length: n }, (_, i) => click('https://shop.example/p', 10 + i, 40)),
        ),
        visitorId,
        sessionId,
      }
      assert.equal((await post(platform.url, b)).status, 202)
    }
    const exportOf = async (visitorId: string) => {
      const r = await api('GET', `/v1/sites/${site.id}/visitors/${visitorId}`, { token })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      return r.body.stores as {
        postgres: {
          consentRecords: Array<{
            granted: boolean
            ip: string | null
            userAgent: string | null
            source: string
          }>
        }
        clickhouse: { sessions: Array<{ session_id: string }>; events: Array<{ visitor_id: string }> }
      }
    }
    const sessionsApi = async () => {
      const r = await fetch(`${platform.url}/v1/sites/${site.id}/sessions?limit=100`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
      return ((await r.json()) as { sessions: Array<{ sessionId: string }> }).sessions
        .map((s) => s.sessionId)
        .sort()
    }

    test('consent from the SDK and the API is recorded with its IP and user agent encrypted', async () => {
      const sdk = await api('POST', '/v1/consent', {
        body: { siteKey: site.siteKey, visitorId: 'alice', granted: true },
        headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux) TestBrowser/1.0', origin: 'https://shop.example' },
      })
      assert.equal(sdk.status, 204, JSON.stringify(sdk.body))
      const fromApi = await api('POST', `/v1/sites/${site.id}/consent`, {
        token,
        body: { visitorId: 'alice', granted: false },
      })
      assert.equal(fromApi.status, 204)
      const unknown = await api('POST', '/v1/consent', {
        body: { siteKey: 'nope', visitorId: 'x', granted: true },
      })
      assert.equal(unknown.body.error.code, 'HM_ERR_INGEST_UNKNOWN_SITE')
      const records = (await exportOf('alice')).postgres.consentRecords
      assert.deepEqual(
        records.map((r) => [r.source, r.granted, r.userAgent]),
        [
          ['sdk', true, 'Mozilla/5.0 (X11; Linux) TestBrowser/1.0'],
          ['api', false, null],
        ],
      )
      assert.equal(records[0]!.ip, '127.0.0.0', 'the address is anonymised before it is stored')
    })

    test("a data-subject export has the visitor's sessions and events, nobody else's", async () => {
      await visit('alice', 'alice-s1', 5)
      await visit('bob', 'bob-s1', 3)
      const stores = await waitFor(
        () => exportOf('alice'),
        (s) => s.clickhouse.events.length === 5 && s.clickhouse.sessions.length === 1,
      )
      assert.ok(stores.clickhouse.events.every((e) => e.visitor_id === 'alice'))
      await waitFor(sessionsApi, (s) => s.length === 2)
    })

    test('deleting a visitor removes it from every store, with a status and an audit record; others stay', async () => {
      const d = await api('DELETE', `/v1/sites/${site.id}/visitors/alice`, { token })
      assert.equal(d.status, 202)
      assert.equal(d.body.status, 'pending')
      const done = await waitFor(
        async () => (await api('GET', `/v1/deletions/${d.body.id}`, { token })).body,
        (s) => s.status !== 'pending',
      )
      assert.equal(done.status, 'done', JSON.stringify(done))
      assert.deepEqual(done.stores.postgres, { consentRecords: 2 })
      assert.equal(done.stores.clickhouse.events, 5)
      assert.equal(done.stores.clickhouse.sessionActors, 1)

      // Queried afterwards, through the export and through the query API.
      const after = await exportOf('alice')
      assert.deepEqual(after, { postgres: { consentRecords: [] }, clickhouse: { sessions: [], events: [] } })
      assert.deepEqual(await sessionsApi(), ['bob-s1'])
      assert.equal((await exportOf('bob')).clickhouse.events.length, 3)

      const audit = await api('GET', '/v1/audit?action=privacy.delete', { token })
      assert.equal(audit.body.entries[0].target, `${site.id}/alice`)
      assert.equal(audit.body.entries[0].details.deletion, d.body.id)
    })

    test("every query route refuses another organisation's API key on this organisation's site (no IDOR)", async () => {
      const params: Record<string, string> = {
        heatmap: 'page=/p&type=click',
        pages: '',
        scroll: 'page=/p',
        attention: 'page=/p',
        elements: 'page=/p',
        compare: 'page=/p&type=click&aDevice=desktop&bDevice=mobile',
        export: 'page=/p&type=click&format=json',
        sessions: '',
        'sessions/{sessionId}': '',
      }
      const doc = (await (await fetch(`${platform.url}/docs/json`)).json()) as {
        paths: Record<string, Record<string, unknown>>
      }
      const managed = ['', '/consent', '/visitors/{visitorId}']
      const queryRoutes = Object.keys(doc.paths)
        .filter((p) => p.startsWith('/v1/sites/{siteId}') && 'get' in doc.paths[p]!)
        .map((p) => p.slice('/v1/sites/{siteId}'.length))
        .filter((rest) => !managed.includes(rest))
        .map((rest) => rest.slice(1))
      assert.ok(queryRoutes.length >= 8, `query routes found: ${queryRoutes.join(', ')}`)
      const other = await api('POST', '/v1/auth/signup', {
        body: {
          email: `other.${Date.now()}@example.com`,
          name: 'other',
          password: 'another long password',
          organization: 'other',
        },
      })
      const otherKey = (
        await api('POST', '/v1/api-keys', {
          token: other.body.accessToken,
          body: { name: 'all', scopes: ['heatmaps:read', 'sessions:read', 'heatmaps:export'] },
        })
      ).body.key
      for (const route of queryRoutes) {
        assert.ok(route in params, `the table has no parameters for the query route ${route}: add it`)
        const path = `/v1/sites/${site.id}/${route.replace('{sessionId}', 'alice-s1')}?${params[route]}`
        const r = await fetch(`${platform.url}${path}`, { headers: { authorization: `Bearer ${otherKey}` } })
        const body = (await r.json()) as { error?: { code: string } }
        assert.deepEqual([r.status, body.error?.code], [404, 'HM_ERR_QUERY_NOT_FOUND'], path)
        const own = await fetch(`${platform.url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } })
        assert.notEqual(own.status, 401, path)
        assert.notEqual(
          ((await own.json()) as { error?: { code: string } }).error?.code,
          'HM_ERR_QUERY_NOT_FOUND',
          path,
        )
      }
    })

    test('the OpenAPI document is served at /docs with the one error format', async () => {
      const ui = await fetch(`${platform.url}/docs/`)
      assert.equal(ui.status, 200)
      assert.match(await ui.text(), /swagger/i)
      const doc = (await (await fetch(`${platform.url}/docs/json`)).json()) as {
        paths: Record<string, unknown>
        components: { schemas: { Error: unknown }; securitySchemes: { bearer: unknown } }
      }
      for (const path of [
        '/v1/auth/login',
        '/v1/sites/{siteId}',
        '/v1/members/{userId}',
        '/v1/audit',
        '/v1/events/collect',
      ])
        assert.ok(path in doc.paths, `${path} is documented`)
      assert.ok(doc.components.schemas.Error)
    })
  })
}
