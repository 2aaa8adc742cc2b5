import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ClickHouseClient } from '@clickhouse/client'
import { PAGE_ACTOR, RAW_EVENT_TABLES, RETAINED_TABLES, SESSION_ACTOR, sessionActorKey } from '@hm/actors'
import { apiKeyPermissions } from '../../src/auth/permissions.ts'
import type { Platform } from '../../src/index.ts'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'
import { connect } from '../query/ws-client.ts'

type Api = (
  method: string,
  path: string,
  o?: { token?: string; body?: unknown; headers?: Record<string, string> },
) => Promise<{
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: answers of every route's shape, read by the tests
  body: any
}>

/** What a variant of the suite runs on; `clickhouse` reads the platform's analytics store, when it can. */
export interface SuiteEnv {
  env: Record<string, string>
  /** A client of the same ClickHouse the platform writes to (database `heatmap`), to query its tables. */
  clickhouse?: ClickHouseClient
  cleanup(): Promise<void>
}

/**
 * Consent, data-subject export and deletion of a visitor and of a website across every store, on the whole
 * platform (ingestion, actors, ClickHouse, the app database and cache named by `env`).
 */
export function privacySuite(title: string, env: () => Promise<SuiteEnv>) {
  describe(title, () => {
    let platform: Platform
    let stop: () => Promise<void>
    let cleanup: () => Promise<void>
    let api: Api
    let token: string
    let site: { id: string; siteKey: string }
    let apiKey: string
    let clickhouse: ClickHouseClient | undefined

    before(async () => {
      const e = await env()
      cleanup = e.cleanup
      clickhouse = e.clickhouse
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
    const exportOf = async (visitorId: string, siteId = site.id) => {
      const r = await api('GET', `/v1/sites/${siteId}/visitors/${visitorId}`, { token })
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
      assert.deepEqual(Object.keys(done.stores).sort(), [
        'actors',
        'cache',
        'clickhouse',
        'journal',
        'postgres',
      ])
      assert.ok(done.stores.journal.flushRecords > 0, 'applied flush records held its events')
      assert.deepEqual(done.stores.postgres, { consentRecords: 2 })
      assert.deepEqual(done.stores.actors, { sessionsForgotten: 1 })
      assert.equal(done.stores.clickhouse.events, 5)
      assert.equal(done.stores.clickhouse.sessionActors, 1)
      assert.equal(
        await platform.runtime!.inspect(SESSION_ACTOR, sessionActorKey(site.id, 'alice-s1')),
        undefined,
        'the session actor is no longer active',
      )

      // Queried afterwards, through the export and through the query API.
      const after = await exportOf('alice')
      assert.deepEqual(after, { postgres: { consentRecords: [] }, clickhouse: { sessions: [], events: [] } })
      assert.deepEqual(await sessionsApi(), ['bob-s1'])
      assert.equal((await exportOf('bob')).clickhouse.events.length, 3)

      const audit = await api('GET', '/v1/audit?action=privacy.delete', { token })
      assert.equal(audit.body.entries[0].target, `${site.id}/alice`)
      assert.equal(audit.body.entries[0].details.deletion, d.body.id)
    })

    test('deleting a website removes its rows from every ClickHouse table and its actors; other sites keep theirs', async () => {
      const created = await api('POST', '/v1/sites', {
        token,
        body: { name: 'doomed', domain: 'doomed.example' },
      })
      assert.equal(created.status, 201)
      const doomed = created.body as { id: string; siteKey: string }
      for (const [visitorId, sessionId, n] of [
        ['carol', 'carol-s1', 4],
        ['dave', 'dave-s1', 2],
      ] as const) {
        const b = {
          ...batch(
            doomed.siteKey,
            Array.from({ length: n }, (_, i) => click('https://doomed.example/p', 100 + i, 40)),
          ),
          visitorId,
          sessionId,
        }
        assert.equal((await post(platform.url, b)).status, 202)
      }
      assert.equal(
        (
          await api('POST', `/v1/sites/${doomed.id}/consent`, {
            token,
            body: { visitorId: 'carol', granted: true },
          })
        ).status,
        204,
      )
      const exported = await waitFor(
        () => exportOf('carol', doomed.id),
        (s) => s.clickhouse.events.length === 4 && s.clickhouse.sessions.length === 1,
      )
      assert.equal(exported.postgres.consentRecords.length, 1)
      const count = async (table: string, where: string, params: Record<string, unknown>) =>
        Number(
          (
            await (
              await clickhouse!.query({
                query: `SELECT count() AS n FROM heatmap.${table} WHERE ${where}`,
                query_params: params,
                format: 'JSONEachRow',
              })
            ).json<{ n: string }>()
          )[0]!.n,
        )
      const ofSite = (id: string) => async () => {
        const out: Record<string, number> = {}
        // Raw events through the `events` view (one row per event), the other tables as they are.
        const raw: readonly string[] = RAW_EVENT_TABLES
        for (const t of [...RETAINED_TABLES.filter((t) => !raw.includes(t)), 'events'])
          out[t] = await count(t, 'site_id = {site:String}', { site: id })
        for (const t of ['rt_snapshots', 'rt_reminders'])
          out[t] = await count(t, 'type IN {types:Array(String)} AND startsWith(key, {prefix:String})', {
            types: [SESSION_ACTOR, PAGE_ACTOR],
            prefix: `${id} `,
          })
        return out
      }
      // Rows only new events change (summaries and snapshots of the other site's sessions may still move).
      const eventTables = ['events', 'heatmap_cells', 'element_clicks', 'scroll_depth']
      let keptBefore: Record<string, number> = {}
      if (clickhouse !== undefined) {
        // Every table has rows of the site before (the snapshots and reminders of its two sessions too).
        const before = await waitFor(
          ofSite(doomed.id),
          (c) => Object.values(c).every((n) => n > 0) && c.events === 6,
        )
        assert.equal(before.events, 6, JSON.stringify(before))
        keptBefore = await ofSite(site.id)()
      }

      const d = await api('DELETE', `/v1/sites/${doomed.id}`, { token })
      assert.equal(d.status, 204, JSON.stringify(d.body))
      assert.equal((await api('GET', `/v1/sites/${doomed.id}`, { token })).status, 404)
      const refused = await post(
        platform.url,
        batch(doomed.siteKey, [click('https://doomed.example/p', 1, 1)]),
      )
      assert.equal(
        ((await refused.json()) as { error: { code: string } }).error.code,
        'HM_ERR_INGEST_UNKNOWN_SITE',
      )

      // Queried after the next flushes: nothing of the site comes back.
      await platform.runtime!.flushNow()
      await platform.runtime!.flushNow()
      for (const s of ['carol-s1', 'dave-s1'])
        assert.equal(
          await platform.runtime!.inspect(SESSION_ACTOR, sessionActorKey(doomed.id, s)),
          undefined,
          s,
        )
      if (clickhouse !== undefined) {
        const gone = await ofSite(doomed.id)()
        assert.deepEqual(
          Object.entries(gone).filter(([, n]) => n > 0),
          [],
          `rows of the deleted site left: ${JSON.stringify(gone)}`,
        )
        const kept = await ofSite(site.id)()
        assert.deepEqual(
          eventTables.map((t) => [t, kept[t]]),
          eventTables.map((t) => [t, keptBefore[t]]),
          "the other site's rows are untouched",
        )
        assert.ok(kept.events! > 0)
      }
      const audit = await api('GET', '/v1/audit?action=website.delete', { token })
      const rows = audit.body.entries as Array<{
        target: string
        status: number
        details: { removed: Record<string, number> }
      }>
      assert.equal(rows[0]!.target, doomed.id)
      assert.equal(rows[0]!.status, 204)
      assert.equal(rows[0]!.details.removed.events, 6)
      assert.equal(rows[0]!.details.removed.sessionsForgotten, 2)
      assert.ok(rows[0]!.details.removed.rt_journal! > 0, 'applied flush records held its events')
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
        'page-view': 'url=/p&width=1280',
        screenshot: 'url=/p&width=1280',
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

    test('the live socket answers exactly heatmaps:read: a signed-in owner, API keys with and without each scope', async () => {
      const callers: Array<{ name: string; token: string; allowed: boolean }> = [
        { name: 'owner', token, allowed: true },
      ]
      for (const scope of apiKeyPermissions) {
        for (const scopes of [[scope], apiKeyPermissions.filter((p) => p !== scope)]) {
          const k = await api('POST', '/v1/api-keys', { token, body: { name: 'live', scopes } })
          assert.equal(k.status, 201, JSON.stringify(k.body))
          callers.push({
            name: `key [${scopes.join(' ')}]`,
            token: k.body.key,
            allowed: scopes.includes('heatmaps:read'),
          })
        }
      }
      const got: string[] = []
      for (const c of callers) {
        const up = await connect(`${platform.url}/v1/sites/${site.id}/live?page=/p`, {
          authorization: `Bearer ${c.token}`,
        })
        assert.ok(up.ok, c.name)
        const m = await up.socket.next<{ kind: string; error?: { code: string } }>(
          (x) => x.kind === 'hello' || x.kind === 'error',
        )
        if (m.kind === 'hello') {
          up.socket.close()
          got.push(`${c.name}: ok`)
        } else got.push(`${c.name}: ${m.error!.code} ${await up.socket.closed}`)
      }
      assert.deepEqual(
        got,
        callers.map((c) => `${c.name}: ${c.allowed ? 'ok' : 'HM_ERR_AUTH_FORBIDDEN 4403'}`),
      )
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
