/**
 * Instance operators: the first account created on an instance and the accounts HM_OPERATOR_EMAILS names
 * hold `instance:read` beyond their role, in their access tokens; nobody else does, and a change to the
 * list applies at the next refresh. An instance upgraded from before operators existed makes its first
 * account the operator.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { decodeJwt } from 'jose'
import { isOperator, setOperatorEmails } from '../../src/accounts/users.ts'
import { permissionsOf } from '../../src/auth/permissions.ts'
import { migratePostgres } from '../../src/stores/pg-migrations.ts'
import { openPostgres } from '../../src/stores/postgres.ts'
import { email, onEachDatabase, signUp } from './harness.ts'

const claimed = (token: string) => decodeJwt(token).permissions as string[]

onEachDatabase('instance operators', (h) => {
  test('the first account operates the instance; the next owner holds exactly its role', async () => {
    const first = await signUp(h(), 'first')
    assert.deepEqual(claimed(first.token), [...permissionsOf('owner'), 'instance:read'])
    const me = await h().call('GET', '/v1/me', { token: first.token })
    assert.ok(me.body.permissions.includes('instance:read'))
    const second = await signUp(h(), 'second')
    assert.deepEqual(claimed(second.token), permissionsOf('owner'))
    assert.equal(await isOperator(h().pool, second.userId), false)
    // Only one first account, however many sign up after.
    const { rows } = await h().pool.query('SELECT count(*)::int AS n FROM users WHERE is_operator')
    assert.equal(rows[0].n, 1)
  })

  test('HM_OPERATOR_EMAILS: a named account (any case) operates from its next sign-in or refresh; unnamed, it stops', async () => {
    const who = await signUp(h(), 'named')
    assert.ok(!claimed(who.token).includes('instance:read'))
    await setOperatorEmails(h().pool, [who.email.toUpperCase(), email('not-yet-signed-up')])
    const refreshed = await h().call('POST', '/v1/auth/refresh', { body: { refreshToken: who.refresh } })
    assert.equal(refreshed.status, 200)
    assert.ok(claimed(refreshed.body.accessToken).includes('instance:read'))
    // Every organisation the account signs into: the permission is the user's, not the membership's.
    const signedIn = await h().call('POST', '/v1/auth/login', {
      body: { email: who.email, password: 'correct horse battery' },
    })
    assert.ok(claimed(signedIn.body.accessToken).includes('instance:read'))

    await setOperatorEmails(h().pool, [])
    const again = await h().call('POST', '/v1/auth/refresh', {
      body: { refreshToken: refreshed.body.refreshToken },
    })
    assert.ok(!claimed(again.body.accessToken).includes('instance:read'))
  })

  test('an API key never holds instance:read, even one made by an operator', async () => {
    const { rows } = await h().pool.query<{ id: string; email: string }>(
      'SELECT id, email FROM users WHERE is_operator',
    )
    const op = await h().call('POST', '/v1/auth/login', {
      body: { email: rows[0]!.email, password: 'correct horse battery' },
    })
    const key = await h().call('POST', '/v1/api-keys', {
      token: op.body.accessToken,
      body: { name: 'ops', scopes: ['instance:read'] },
    })
    assert.equal(key.status, 400, JSON.stringify(key.body))
  })
})

test('an instance upgraded to operators: its first account becomes the operator, and later ones do not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hm-op-'))
  const p = await openPostgres({ dataDir: dir })
  try {
    await migratePostgres(p.pool, { upTo: 3 })
    const add = (e: string, at: string) =>
      p.pool.query("INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, 'x', 'h', $2)", [
        e,
        at,
      ])
    await add('later@example.com', '2024-02-01T00:00:00Z')
    await add('earliest@example.com', '2024-01-01T00:00:00Z')
    assert.ok((await migratePostgres(p.pool)).includes(4))
    await add('after@example.com', '2024-03-01T00:00:00Z')
    const { rows } = await p.pool.query('SELECT email FROM users WHERE is_operator ORDER BY email')
    assert.deepEqual(
      rows.map((r) => r.email),
      ['earliest@example.com'],
    )
  } finally {
    await p.close()
    await rm(dir, { recursive: true, force: true })
  }
})
