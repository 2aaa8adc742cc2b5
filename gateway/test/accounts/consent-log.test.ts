/**
 * The consent log (`GET /v1/sites/<id>/consent`): decisions recorded through the SDK route and the API
 * come back newest first, page by page, filtered by visitor; addresses and user agents are decrypted for
 * privacy:write holders only; roles and keys without privacy:read and other organisations are refused.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createScopedApiKey } from '../../src/accounts/api-keys.ts'
import { hashPassword } from '../../src/auth/passwords.ts'
import type { Role } from '../../src/auth/permissions.ts'
import { type Harness, onEachDatabase, signUp } from './harness.ts'

interface ConsentRow {
  id: number
  visitorId: string
  granted: boolean
  source: 'sdk' | 'api'
  at: string
  ip: string | null
  userAgent: string | null
}

onEachDatabase('the consent log', (h) => {
  let owner: { token: string; orgId: string }
  let siteId: string
  let siteKey: string
  /** What was recorded, oldest first. */
  const recorded: Array<{ visitorId: string; granted: boolean; source: 'sdk' | 'api' }> = []

  const member = async (hh: Harness, role: Role): Promise<string> => {
    const { rows } = await hh.pool.query<{ id: string }>(
      'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id',
      [`${role}.${crypto.randomUUID()}@example.com`, role, await hashPassword('not used here')],
    )
    await hh.pool.query('INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [
      owner.orgId,
      rows[0]!.id,
      role,
    ])
    return (await hh.ctx.sessions.start(rows[0]!.id, owner.orgId)).accessToken
  }
  const list = (token: string, query = '') =>
    h().call('GET', `/v1/sites/${siteId}/consent${query === '' ? '' : `?${query}`}`, { token })

  test('set-up: a site, and 7 decisions of 3 visitors from the SDK route and the API', async () => {
    owner = await signUp(h(), 'consent')
    const site = await h().call('POST', '/v1/sites', {
      token: owner.token,
      body: { name: 'shop', domain: 'shop.example' },
    })
    assert.equal(site.status, 201, JSON.stringify(site.body))
    siteId = site.body.id
    siteKey = site.body.siteKey
    const decisions: Array<[string, boolean, 'sdk' | 'api']> = [
      ['v-ann', true, 'sdk'],
      ['v-bob', true, 'sdk'],
      ['v-ann', false, 'sdk'],
      ['v-cid', true, 'api'],
      ['v-bob', false, 'api'],
      ['v-ann', true, 'sdk'],
      ['v-cid', false, 'sdk'],
    ]
    for (const [visitorId, granted, source] of decisions) {
      const r =
        source === 'sdk'
          ? await h().call('POST', '/v1/consent', {
              body: { siteKey, visitorId, granted },
              ip: '203.0.113.77',
            })
          : await h().call('POST', `/v1/sites/${siteId}/consent`, {
              token: owner.token,
              body: { visitorId, granted },
            })
      assert.equal(r.status, 204, JSON.stringify(r.body))
      recorded.push({ visitorId, granted, source })
    }
  })

  test('newest first, in pages that follow each other with nextBefore, and nothing left out', async () => {
    const seen: ConsentRow[] = []
    let before: number | null | undefined
    let pages = 0
    do {
      const r = await list(owner.token, `limit=3${before ? `&before=${before}` : ''}`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.ok(r.body.records.length <= 3)
      seen.push(...r.body.records)
      before = r.body.nextBefore
      pages++
    } while (before !== null && pages < 10)
    // 7 records in pages of 3: 3, 3, 1 (the last page is short, so it says there is no next).
    assert.equal(pages, 3)
    assert.deepEqual(
      seen.map((r) => [r.visitorId, r.granted, r.source]),
      [...recorded].reverse().map((r) => [r.visitorId, r.granted, r.source]),
    )
    const ids = seen.map((r) => r.id)
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    )
  })

  test('filtered by visitor id: only that visitor, newest first', async () => {
    const r = await list(owner.token, 'visitorId=v-ann')
    assert.equal(r.status, 200)
    assert.deepEqual(
      r.body.records.map((x: ConsentRow) => [x.visitorId, x.granted]),
      [
        ['v-ann', true],
        ['v-ann', false],
        ['v-ann', true],
      ],
    )
    assert.equal(r.body.nextBefore, null)
    const none = await list(owner.token, 'visitorId=v-nobody')
    assert.deepEqual(none.body.records, [])
  })

  test('privacy:write holders see the anonymised address and user agent; privacy:read alone does not', async () => {
    const full = await list(owner.token, 'visitorId=v-ann')
    assert.equal(full.body.personalData, 'shown')
    // The SDK route stored the address anonymised to its /24, and the client's user agent.
    for (const x of full.body.records as ConsentRow[]) {
      assert.equal(x.ip, '203.0.113.0')
      assert.equal(typeof x.userAgent, 'string')
      assert.ok(x.userAgent!.length > 0)
    }
    // Decisions from the API carry neither.
    const api = await list(owner.token, 'visitorId=v-bob')
    const fromApi = (api.body.records as ConsentRow[]).find((x) => x.source === 'api')!
    assert.deepEqual([fromApi.ip, fromApi.userAgent], [null, null])

    const admin = await list(await member(h(), 'admin'), 'visitorId=v-ann')
    assert.equal(admin.body.personalData, 'shown')
    assert.equal(admin.body.records[0].ip, '203.0.113.0')

    const manager = await list(await member(h(), 'manager'), 'visitorId=v-ann')
    assert.equal(manager.status, 200)
    assert.equal(manager.body.personalData, 'withheld')
    assert.deepEqual(
      (manager.body.records as ConsentRow[]).map((x) => [x.visitorId, x.granted, x.ip, x.userAgent]),
      [
        ['v-ann', true, null, null],
        ['v-ann', false, null, null],
        ['v-ann', true, null, null],
      ],
    )
    const readKey = await createScopedApiKey(h().pool, {
      orgId: owner.orgId,
      name: 'read',
      scopes: ['privacy:read'],
      createdBy: null,
    })
    const byReadKey = await list(readKey.token, 'visitorId=v-ann')
    assert.deepEqual([byReadKey.body.personalData, byReadKey.body.records[0].ip], ['withheld', null])
    const writeKey = await createScopedApiKey(h().pool, {
      orgId: owner.orgId,
      name: 'write',
      scopes: ['privacy:read', 'privacy:write'],
      createdBy: null,
    })
    const byWriteKey = await list(writeKey.token, 'visitorId=v-ann')
    assert.deepEqual([byWriteKey.body.personalData, byWriteKey.body.records[0].ip], ['shown', '203.0.113.0'])
  })

  test('refused without privacy:read, on another organisation’s site, and for bad parameters', async () => {
    for (const role of ['analyst', 'viewer'] as const) {
      const r = await list(await member(h(), role))
      assert.deepEqual([r.status, r.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'], role)
    }
    const anonymous = await list('')
    assert.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'HM_ERR_AUTH_MISSING'])
    const other = await signUp(h(), 'other')
    const foreign = await list(other.token)
    assert.deepEqual([foreign.status, foreign.body.error.code], [404, 'HM_ERR_ACCOUNT_NOT_FOUND'])
    const bad = await list(owner.token, 'limit=0')
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'HM_ERR_ACCOUNT_BAD_REQUEST'])
    assert.match(bad.body.error.message, /limit/)
  })

  test('reading the log is audited, with whether personal data was shown', async () => {
    const { rows } = await h().pool.query(
      "SELECT details FROM audit_log WHERE org_id = $1 AND action = 'consent.list' ORDER BY id",
      [owner.orgId],
    )
    assert.ok(rows.length > 0)
    assert.ok(rows.some((r) => r.details.personalData === true))
    assert.ok(rows.some((r) => r.details.personalData === false))
  })
})
