import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { decodeJwt } from 'jose'
import { createAccountsContext } from '../../src/accounts/context.ts'
import { OutboxMailer } from '../../src/accounts/mailer.ts'
import { ephemeralAuthKeys } from '../../src/auth/keys.ts'
import { operatorPermissions, type Permission, permissionsOf } from '../../src/auth/permissions.ts'
import { totpCode } from '../../src/auth/totp.ts'
import auth from '../../src/plugins/auth.ts'
import { MemoryCache } from '../../src/stores/cache.ts'
import { email, type Harness, onEachDatabase, PASSWORD, signUp } from './harness.ts'

const MAX_FAILURES = 3

onEachDatabase(
  'sign-up, sign-in and tokens',
  (h) => {
    const login = (c: { email: string; password?: string; totp?: string; ip?: string }) =>
      h().call('POST', '/v1/auth/login', {
        body: { email: c.email, password: c.password ?? PASSWORD, ...(c.totp ? { totp: c.totp } : {}) },
        ...(c.ip ? { ip: c.ip } : {}),
      })

    test('sign-up makes an owner; the access token carries sub, org, role, permissions, iat and exp', async () => {
      const o = await signUp(h())
      const claims = decodeJwt(o.token)
      assert.equal(claims.sub, o.userId)
      assert.equal(claims.org, o.orgId)
      assert.equal(claims.role, 'owner')
      // The first account of an instance also operates it (see operators.test.ts); the role's row is all else.
      assert.deepEqual(
        (claims.permissions as string[]).filter((p) => !operatorPermissions.includes(p as Permission)),
        permissionsOf('owner'),
      )
      assert.equal((claims.exp as number) - (claims.iat as number), 900)
      const { rows } = await h().pool.query('SELECT password_hash FROM users WHERE id = $1', [o.userId])
      assert.match(rows[0].password_hash, /^\$argon2id\$/)
      const again = await h().call('POST', '/v1/auth/signup', {
        body: { email: o.email.toUpperCase(), name: 'x', password: PASSWORD, organization: 'x' },
      })
      assert.equal(again.body.error.code, 'HM_ERR_ACCOUNT_EMAIL_TAKEN')
    })

    test('a weak password, a bad email and an unknown field are refused naming what was wrong', async () => {
      const short = await h().call('POST', '/v1/auth/signup', {
        body: { email: email(), name: 'x', password: 'short', organization: 'x' },
      })
      assert.deepEqual([short.status, short.body.error.code], [400, 'HM_ERR_ACCOUNT_WEAK_PASSWORD'])
      const bad = await h().call('POST', '/v1/auth/signup', {
        body: { email: 'not-an-email', name: 'x', password: PASSWORD, organization: 'x' },
      })
      assert.deepEqual([bad.status, bad.body.error.code], [400, 'HM_ERR_ACCOUNT_BAD_REQUEST'])
      assert.match(bad.body.error.message, /email/)
    })

    test('sign-in: wrong password refused, right one gives a pair; unknown email looks the same', async () => {
      const o = await signUp(h())
      const wrong = await login({ email: o.email, password: 'wrong password!' })
      assert.deepEqual([wrong.status, wrong.body.error.code], [401, 'HM_ERR_AUTH_BAD_CREDENTIALS'])
      const nobody = await login({ email: email('nobody') })
      assert.deepEqual([nobody.status, nobody.body.error.code], [401, 'HM_ERR_AUTH_BAD_CREDENTIALS'])
      const ok = await login({ email: o.email })
      assert.equal(ok.status, 200)
      assert.equal(ok.body.org, o.orgId)
      assert.deepEqual(
        ok.body.memberships.map((m: { role: string }) => m.role),
        ['owner'],
      )
      const me = await h().call('GET', '/v1/me', { token: ok.body.accessToken })
      assert.equal(me.body.email, o.email)
    })

    test('refresh rotates; a spent refresh token coming back revokes its whole family', async () => {
      const o = await signUp(h())
      const r1 = o.refresh
      const second = await h().call('POST', '/v1/auth/refresh', { body: { refreshToken: r1 } })
      assert.equal(second.status, 200)
      assert.notEqual(second.body.refreshToken, r1)
      const third = await h().call('POST', '/v1/auth/refresh', {
        body: { refreshToken: second.body.refreshToken },
      })
      assert.equal(third.status, 200)
      assert.equal((await h().call('GET', '/v1/me', { token: third.body.accessToken })).status, 200)

      const reuse = await h().call('POST', '/v1/auth/refresh', { body: { refreshToken: r1 } })
      assert.deepEqual([reuse.status, reuse.body.error.code], [401, 'HM_ERR_AUTH_REFRESH_REUSED'])
      // Every descendant is dead: the newest refresh token and the access tokens issued with the family.
      const latest = await h().call('POST', '/v1/auth/refresh', {
        body: { refreshToken: third.body.refreshToken },
      })
      assert.deepEqual([latest.status, latest.body.error.code], [401, 'HM_ERR_AUTH_REFRESH_REUSED'])
      for (const t of [o.token, second.body.accessToken, third.body.accessToken]) {
        const me = await h().call('GET', '/v1/me', { token: t })
        assert.deepEqual([me.status, me.body.error.code], [401, 'HM_ERR_AUTH_REVOKED'])
      }
      // Another sign-in of the same user is another family and still works.
      const other = await login({ email: o.email })
      assert.equal((await h().call('GET', '/v1/me', { token: other.body.accessToken })).status, 200)
      const audit = await h().call('GET', '/v1/audit?action=auth.refresh', { token: other.body.accessToken })
      assert.ok(
        audit.body.entries.some(
          (e: { status: number; details: { reuse?: boolean } }) => e.status === 401 && e.details.reuse,
        ),
      )
    })

    test('logout revokes the access token and the refresh token of that sign-in only', async () => {
      const o = await signUp(h())
      const other = await login({ email: o.email })
      const out = await h().call('POST', '/v1/auth/logout', { token: o.token })
      assert.equal(out.status, 204)
      assert.equal(
        (await h().call('GET', '/v1/me', { token: o.token })).body.error.code,
        'HM_ERR_AUTH_REVOKED',
      )
      const r = await h().call('POST', '/v1/auth/refresh', { body: { refreshToken: o.refresh } })
      assert.equal(r.status, 401)
      assert.equal((await h().call('GET', '/v1/me', { token: other.body.accessToken })).status, 200)
    })

    test('bad, tampered and missing tokens are refused with distinct codes', async () => {
      const o = await signUp(h())
      assert.equal((await h().call('GET', '/v1/me')).body.error.code, 'HM_ERR_AUTH_MISSING')
      const [head, body, sig] = o.token.split('.')
      const forged = Buffer.from(
        JSON.stringify({ ...decodeJwt(o.token), role: 'owner', org: crypto.randomUUID() }),
      ).toString('base64url')
      const t = await h().call('GET', '/v1/me', { token: `${head}.${forged}.${sig}` })
      assert.deepEqual([t.status, t.body.error.code], [401, 'HM_ERR_AUTH_BAD_TOKEN'])
      assert.ok(body !== undefined && body.length > 0)
      const k = await h().call('GET', '/v1/me', { token: 'hm_deadbeef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
      assert.equal(k.body.error.code, 'HM_ERR_AUTH_BAD_KEY')
      // Fastify answers HEAD from the GET route: the same check guards it.
      const headOnly = await h().app.inject({ method: 'HEAD', url: '/v1/me' })
      assert.equal(headOnly.statusCode, 401)
    })

    test(`an account locks after ${MAX_FAILURES} failures: even the right password is refused while locked`, async () => {
      const o = await signUp(h())
      for (let i = 0; i < MAX_FAILURES; i++)
        assert.equal((await login({ email: o.email, password: `wrong ${i} password` })).status, 401)
      const locked = await login({ email: o.email })
      assert.deepEqual([locked.status, locked.body.error.code], [429, 'HM_ERR_AUTH_LOCKED'])
      assert.equal(locked.headers['retry-after'], '60')
      // Another account is not affected.
      const p = await signUp(h(), 'other')
      assert.equal((await login({ email: p.email })).status, 200)
      const audit = await h().call('GET', '/v1/audit?action=auth.login', { token: o.token })
      const failures = audit.body.entries.filter((e: { status: number }) => e.status === 401)
      assert.equal(failures.length, MAX_FAILURES)
      assert.equal(failures[0].details.locked, true)
    })

    test('one address is throttled across accounts', async () => {
      const ip = `198.51.100.${1 + Math.floor(Math.random() * 250)}`
      let last = 0
      for (let i = 0; i < 12; i++) last = (await login({ email: email('probe'), ip })).status
      assert.equal(last, 429)
      const r = await login({ email: email('probe'), ip })
      assert.equal(r.body.error.code, 'HM_ERR_AUTH_THROTTLED')
    })

    test('a scrypt hash from before argon2id still signs in and is replaced by argon2id', async () => {
      const { scryptSync, randomBytes } = await import('node:crypto')
      const salt = randomBytes(16)
      const legacy = `scrypt$${salt.toString('base64')}$${scryptSync(PASSWORD, salt, 32).toString('base64')}`
      const e = email('legacy')
      const { rows } = await h().pool.query<{ id: string }>(
        "INSERT INTO users (email, name, password_hash) VALUES ($1, 'legacy', $2) RETURNING id",
        [e, legacy],
      )
      const org = await h().pool.query<{ id: string }>(
        "INSERT INTO organizations (name) VALUES ('legacy') RETURNING id",
      )
      await h().pool.query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')", [
        org.rows[0]!.id,
        rows[0]!.id,
      ])
      assert.equal((await login({ email: e, password: 'not the password' })).status, 401)
      assert.equal((await login({ email: e })).status, 200)
      const after = await h().pool.query('SELECT password_hash FROM users WHERE id = $1', [rows[0]!.id])
      assert.match(after.rows[0].password_hash, /^\$argon2id\$/)
      assert.equal((await login({ email: e })).status, 200)
    })

    test('TOTP: enrol, confirm, then sign-in needs a code, and a code works once', async () => {
      const o = await signUp(h())
      const setup = await h().call('POST', '/v1/me/mfa/setup', { token: o.token })
      assert.equal(setup.status, 200)
      assert.match(setup.body.uri, /^otpauth:\/\/totp\//)
      const { rows } = await h().pool.query('SELECT mfa_secret FROM users WHERE id = $1', [o.userId])
      assert.ok(!rows[0].mfa_secret.includes(setup.body.secret), 'the secret is stored encrypted')
      const wrong = await h().call('POST', '/v1/me/mfa/enable', { token: o.token, body: { totp: '000000' } })
      assert.equal(wrong.body.error.code, 'HM_ERR_AUTH_BAD_MFA')
      const now = Date.now()
      assert.equal(
        (
          await h().call('POST', '/v1/me/mfa/enable', {
            token: o.token,
            body: { totp: totpCode(setup.body.secret, now) },
          })
        ).status,
        204,
      )

      const noCode = await login({ email: o.email })
      assert.deepEqual([noCode.status, noCode.body.error.code], [401, 'HM_ERR_AUTH_MFA_REQUIRED'])
      // The code of the next step is inside the allowed drift and later than the one used to enable.
      const next = totpCode(setup.body.secret, now + 30_000)
      const ok = await login({ email: o.email, totp: next })
      assert.equal(ok.status, 200)
      const replay = await login({ email: o.email, totp: next })
      assert.deepEqual([replay.status, replay.body.error.code], [401, 'HM_ERR_AUTH_BAD_MFA'])
      const me = await h().call('GET', '/v1/me', { token: ok.body.accessToken })
      assert.equal(me.body.mfaEnabled, true)
    })

    test('password reset: mailed token, new password works, every old sign-in ends, token single-use', async () => {
      const o = await signUp(h())
      const unknown = await h().call('POST', '/v1/auth/password/forgot', { body: { email: email('ghost') } })
      assert.equal(unknown.status, 202)
      const sent = h().outbox.sent.length
      assert.equal(
        (await h().call('POST', '/v1/auth/password/forgot', { body: { email: o.email } })).status,
        202,
      )
      const mail = h().outbox.sent[sent]!
      assert.equal(mail.to, o.email)
      const token = /reset token: (\S+)/.exec(mail.text)![1]!
      const weak = await h().call('POST', '/v1/auth/password/reset', { body: { token, password: 'short' } })
      assert.equal(weak.body.error.code, 'HM_ERR_ACCOUNT_WEAK_PASSWORD')
      assert.equal(
        (
          await h().call('POST', '/v1/auth/password/reset', {
            body: { token, password: 'a brand new passphrase' },
          })
        ).status,
        204,
      )
      assert.equal(
        (await h().call('GET', '/v1/me', { token: o.token })).body.error.code,
        'HM_ERR_AUTH_REVOKED',
      )
      assert.equal((await login({ email: o.email })).status, 401)
      assert.equal((await login({ email: o.email, password: 'a brand new passphrase' })).status, 200)
      const again = await h().call('POST', '/v1/auth/password/reset', {
        body: { token, password: 'another new passphrase' },
      })
      assert.equal(again.body.error.code, 'HM_ERR_AUTH_BAD_RESET')
    })
  },
  { settings: { loginMaxFailures: MAX_FAILURES, loginLockoutS: 60, loginMaxPerIp: 10 } },
)

test('a route registered after the auth plugin without a permission stops start-up, naming the route', async () => {
  const app = Fastify()
  const ctx = createAccountsContext({
    pool: undefined as never,
    cache: new MemoryCache(),
    keys: ephemeralAuthKeys(),
    mailer: new OutboxMailer(),
  })
  await app.register(auth, { ctx })
  await assert.rejects(async () => {
    await app.register(async (child) => {
      child.get('/v1/forgotten', async () => 'open')
    })
    await app.ready()
  }, /GET \/v1\/forgotten declares no permission/)
  await app.close().catch(() => {})
})

export type { Harness }
