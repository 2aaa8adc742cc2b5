import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, test } from 'node:test'
import { createScopedApiKey } from '../../src/accounts/api-keys.ts'
import { hashPassword } from '../../src/auth/passwords.ts'
import {
  apiKeyPermissions,
  type Permission,
  permissions,
  permissionsOf,
  type Role,
  roles,
} from '../../src/auth/permissions.ts'
import { type Analytics, openAnalytics } from './analytics.ts'
import { type Harness, onEachDatabase, signUp } from './harness.ts'
import { freshIds, type Ids, publicRoutes, type RouteCase, routeCases } from './routes.ts'

interface Caller {
  name: string
  permissions: readonly Permission[]
  token(): Promise<string>
}

const oks = (c: RouteCase) => (Array.isArray(c.ok) ? c.ok : [c.ok])

// One ClickHouse for the query routes of both database variants (chDB binds one data dir per process).
let analytics: Promise<Analytics> | undefined
after(async () => {
  await (await analytics)?.close()
})

onEachDatabase(
  'every management and query route: roles and API keys get exactly their permissions, no organisation reaches another',
  (h) => {
    let a: { orgId: string; token: string }
    let b: { orgId: string; token: string }
    let dummyHash: string
    const callers: Caller[] = []

    /** A member of `orgId` with `role`; each token is a fresh sign-in (logout spends one). */
    const member = async (orgId: string, role: Role): Promise<Caller> => {
      const { rows } = await h().pool.query<{ id: string }>(
        'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id',
        [`${role}.${crypto.randomUUID()}@example.com`, role, dummyHash],
      )
      const userId = rows[0]!.id
      await h().pool.query('INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [
        orgId,
        userId,
        role,
      ])
      return {
        name: role,
        permissions: permissionsOf(role),
        token: async () => (await h().ctx.sessions.start(userId, orgId)).accessToken,
      }
    }
    const apiKey = async (orgId: string, scopes: readonly Permission[]): Promise<Caller> => {
      const { token } = await createScopedApiKey(h().pool, { orgId, name: 'test', scopes, createdBy: null })
      return { name: `api key [${scopes.join(' ')}]`, permissions: scopes, token: async () => token }
    }

    test('set-up: two organisations, a member of every role and API keys with and without each scope in the first', async () => {
      dummyHash = await hashPassword('not used for these members')
      a = await signUp(h(), 'a')
      b = await signUp(h(), 'b')
      for (const role of roles) callers.push(await member(a.orgId, role))
      callers.push(await apiKey(a.orgId, apiKeyPermissions))
      for (const scope of apiKeyPermissions) {
        callers.push(await apiKey(a.orgId, [scope]))
        callers.push(
          await apiKey(
            a.orgId,
            apiKeyPermissions.filter((p) => p !== scope),
          ),
        )
      }
      // A signed-in member holds exactly its role's row of the table.
      for (const c of callers.slice(0, roles.length)) {
        const me = await h().call('GET', '/v1/me', { token: await c.token() })
        assert.deepEqual(me.body.permissions, c.permissions, c.name)
      }
    })

    test('the table covers every route of the OpenAPI document', async () => {
      const doc = h().app.swagger() as { paths: Record<string, Record<string, unknown>> }
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      const covered = [...routeCases.map((c) => `${c.method} ${c.route}`), ...publicRoutes]
      assert.deepEqual(
        documented.filter((r) => !covered.includes(r)),
        [],
        'routes missing from the table',
      )
      assert.deepEqual(
        covered.filter((r) => !documented.includes(r)),
        [],
        'table rows without a route',
      )
    })

    for (const c of routeCases) {
      test(`${c.method} ${c.route} needs ${c.permission}: allowed exactly to the roles and keys that hold it`, async () => {
        const got: string[] = []
        const want: string[] = []
        for (const caller of callers) {
          const ids = await freshIds(h(), a.orgId, dummyHash)
          const r = await h().call(c.method, c.url(ids), { token: await caller.token(), body: c.body?.(ids) })
          const allowed = caller.permissions.includes(c.permission)
          got.push(
            `${caller.name}: ${r.status === 403 && r.body.error.code === 'HM_ERR_AUTH_FORBIDDEN' ? 'forbidden' : oks(c).includes(r.status) ? 'ok' : `${r.status} ${JSON.stringify(r.body)}`}`,
          )
          want.push(`${caller.name}: ${allowed ? 'ok' : 'forbidden'}`)
        }
        assert.deepEqual(got, want)
      })
    }

    for (const c of routeCases.filter((r) => r.foreign !== undefined)) {
      test(`${c.method} ${c.route} refuses the other organisation's ids (owner and full API key of B on A's)`, async () => {
        const idsOfA = await freshIds(h(), a.orgId, dummyHash)
        const before = await snapshot(h(), idsOfA)
        const keyOfB = (await apiKey(b.orgId, apiKeyPermissions)).token
        const callersOfB = [
          async () =>
            (
              await h().call('POST', '/v1/auth/refresh', {
                body: { refreshToken: (await signIn(b.orgId)).refreshToken },
              })
            ).body.accessToken as string,
        ]
        if (apiKeyPermissions.includes(c.permission)) callersOfB.push(keyOfB)
        for (const token of callersOfB) {
          const r = await h().call(c.method, c.url(idsOfA), { token: await token(), body: c.body?.(idsOfA) })
          assert.deepEqual(
            [r.status, r.body?.error?.code],
            [c.foreign!.status, c.foreign!.code],
            JSON.stringify(r.body),
          )
        }
        assert.deepEqual(await snapshot(h(), idsOfA), before, "A's resources are unchanged")
      })
    }

    /** A new sign-in of B's owner. */
    const signIn = async (orgId: string) => {
      const { rows } = await h().pool.query<{ user_id: string }>(
        "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner'",
        [orgId],
      )
      return h().ctx.sessions.start(rows[0]!.user_id, orgId)
    }

    test("lists of B never show A's resources", async () => {
      const idsOfA = await freshIds(h(), a.orgId, dummyHash)
      const token = (await signIn(b.orgId)).accessToken
      for (const url of ['/v1/sites', '/v1/members', '/v1/invitations', '/v1/api-keys', '/v1/audit']) {
        const r = await h().call('GET', url, { token })
        assert.equal(r.status, 200, url)
        const text = JSON.stringify(r.body)
        for (const id of Object.values(idsOfA)) assert.ok(!text.includes(id), `${url} shows ${id} of A`)
      }
    })
  },
  { analytics: () => (analytics ??= openAnalytics()) },
)

/** What the foreign calls could have touched in A. */
async function snapshot(h: Harness, ids: Ids) {
  const one = async (sql: string, id: string) => JSON.stringify((await h.pool.query(sql, [id])).rows)
  return [
    await one('SELECT name, consent_required, allowed_origins FROM websites WHERE id = $1', ids.siteId),
    await one('SELECT revoked_at FROM api_keys WHERE id = $1', ids.keyId),
    await one('SELECT revoked_at FROM invitations WHERE id = $1', ids.invitationId),
    await one('SELECT role FROM memberships WHERE user_id = $1', ids.memberId),
    await one('SELECT count(*) FROM consent_records WHERE site_id = $1', ids.siteId),
    await one('SELECT count(*) FROM visitor_deletions WHERE site_id = $1', ids.siteId),
  ]
}

test("README's permission table is the one in permissions.ts, API key scopes included", async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8')
  const rows = new Map<string, string[]>()
  for (const line of readme.split('\n')) {
    const m = /^\| `([a-z_]+:[a-z]+)` \|(.*)\|$/.exec(line)
    if (m !== null)
      rows.set(
        m[1]!,
        m[2]!.split('|').map((c) => c.trim()),
      )
  }
  assert.deepEqual([...rows.keys()], [...permissions])
  for (const p of permissions) {
    const want = [
      ...roles.map((r) => (permissionsOf(r).includes(p) ? '✓' : '')),
      apiKeyPermissions.includes(p) ? 'scope' : '',
    ]
    assert.deepEqual(rows.get(p), want, p)
  }
})

test('the matrix: owner holds everything, admin all but ownership, viewer reads heatmaps and sites', () => {
  assert.equal(permissionsOf('owner').length, 18)
  assert.deepEqual(
    permissionsOf('owner').filter((p) => !permissionsOf('admin').includes(p)),
    ['billing:manage', 'org:transfer', 'org:delete'],
  )
  assert.deepEqual(permissionsOf('viewer'), ['heatmaps:read', 'sites:read', 'org:read', 'account:self'])
  for (const p of permissionsOf('analyst')) assert.ok(!p.endsWith(':write'), `analyst must not hold ${p}`)
})
