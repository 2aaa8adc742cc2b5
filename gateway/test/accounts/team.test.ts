import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeJwt } from 'jose'
import { totpCode } from '../../src/auth/totp.ts'
import { email, type Harness, onEachDatabase, PASSWORD, signUp } from './harness.ts'

/** Invites `role` into the owner's organisation and accepts as a new account; returns the member's tokens. */
async function join(h: Harness, ownerToken: string, role: string) {
  const e = email(role)
  const inv = await h.call('POST', '/v1/invitations', { token: ownerToken, body: { email: e, role } })
  assert.equal(inv.status, 201, JSON.stringify(inv.body))
  const mail = h.outbox.sent.at(-1)!
  assert.equal(mail.to, e)
  assert.ok(mail.text.includes(inv.body.token))
  const acc = await h.call('POST', '/v1/invitations/accept', {
    body: { token: inv.body.token, password: PASSWORD, name: role },
  })
  assert.equal(acc.status, 200, JSON.stringify(acc.body))
  return {
    email: e,
    token: acc.body.accessToken as string,
    userId: decodeJwt(acc.body.accessToken).sub as string,
  }
}

onEachDatabase('team: invitations, roles, removal, ownership transfer', (h) => {
  test('an invitation joins with its role once; the email is stored encrypted', async () => {
    const o = await signUp(h())
    const m = await join(h(), o.token, 'analyst')
    assert.equal(decodeJwt(m.token).role, 'analyst')
    const { rows } = await h().pool.query('SELECT email_enc FROM invitations WHERE org_id = $1', [o.orgId])
    assert.ok(!rows[0].email_enc.includes('@'))
    const list = await h().call('GET', '/v1/invitations', { token: o.token })
    assert.deepEqual(
      list.body.map((i: { email: string; status: string }) => [i.email, i.status]),
      [[m.email, 'accepted']],
    )
    const members = await h().call('GET', '/v1/members', { token: o.token })
    assert.deepEqual(members.body.map((x: { role: string }) => x.role).sort(), ['analyst', 'owner'])
  })

  test('an existing account joins a second organisation with its password and can switch to it', async () => {
    const a = await signUp(h(), 'a')
    const b = await signUp(h(), 'b')
    const inv = await h().call('POST', '/v1/invitations', {
      token: b.token,
      body: { email: a.email, role: 'viewer' },
    })
    const wrong = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: 'wrong password!' },
    })
    assert.equal(wrong.body.error.code, 'HM_ERR_AUTH_BAD_CREDENTIALS')
    // A failed acceptance does not spend the invitation.
    const ok = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: PASSWORD },
    })
    assert.equal(ok.status, 200)
    const again = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: PASSWORD },
    })
    assert.equal(again.body.error.code, 'HM_ERR_ACCOUNT_BAD_INVITATION')
    const sw = await h().call('POST', '/v1/auth/switch', { token: a.token, body: { orgId: b.orgId } })
    assert.deepEqual([sw.body.org, sw.body.role], [b.orgId, 'viewer'])
    const login = await h().call('POST', '/v1/auth/login', {
      body: { email: a.email, password: PASSWORD, orgId: b.orgId },
    })
    assert.equal(login.body.role, 'viewer')
    assert.equal(login.body.memberships.length, 2)
  })

  test('an existing account with MFA must give its code to accept an invitation', async () => {
    const a = await signUp(h(), 'mfa')
    const b = await signUp(h(), 'host')
    const setup = await h().call('POST', '/v1/me/mfa/setup', { token: a.token })
    const now = Date.now()
    await h().call('POST', '/v1/me/mfa/enable', {
      token: a.token,
      body: { totp: totpCode(setup.body.secret, now) },
    })
    const inv = await h().call('POST', '/v1/invitations', {
      token: b.token,
      body: { email: a.email, role: 'analyst' },
    })
    const noCode = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: PASSWORD },
    })
    assert.equal(noCode.body.error.code, 'HM_ERR_AUTH_MFA_REQUIRED')
    const bad = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: PASSWORD, totp: '000000' },
    })
    assert.equal(bad.body.error.code, 'HM_ERR_AUTH_BAD_MFA')
    const ok = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: PASSWORD, totp: totpCode(setup.body.secret, now + 30_000) },
    })
    assert.deepEqual([ok.status, ok.body.role], [200, 'analyst'])
  })

  test('a manager manages analysts and viewers only; nobody manages themselves', async () => {
    const o = await signUp(h())
    const manager = await join(h(), o.token, 'manager')
    const admin = await join(h(), o.token, 'admin')
    const viewer = await join(h(), o.token, 'viewer')
    const denied = [
      await h().call('POST', '/v1/invitations', {
        token: manager.token,
        body: { email: email(), role: 'admin' },
      }),
      await h().call('POST', '/v1/invitations', {
        token: manager.token,
        body: { email: email(), role: 'manager' },
      }),
      await h().call('PATCH', `/v1/members/${admin.userId}`, {
        token: manager.token,
        body: { role: 'viewer' },
      }),
      await h().call('PATCH', `/v1/members/${viewer.userId}`, {
        token: manager.token,
        body: { role: 'admin' },
      }),
      await h().call('DELETE', `/v1/members/${o.userId}`, { token: admin.token }),
    ]
    assert.deepEqual(
      denied.map((r) => r.body.error.code),
      Array(5).fill('HM_ERR_ACCOUNT_ROLE_DENIED'),
    )
    const self = await h().call('DELETE', `/v1/members/${manager.userId}`, { token: manager.token })
    assert.equal(self.body.error.code, 'HM_ERR_ACCOUNT_CONFLICT')
    const ownerRole = await h().call('PATCH', `/v1/members/${viewer.userId}`, {
      token: o.token,
      body: { role: 'owner' },
    })
    assert.equal(ownerRole.body.error.code, 'HM_ERR_ACCOUNT_BAD_REQUEST')

    // A role change ends the member's sign-ins: the old token's permissions are stale.
    assert.equal(
      (
        await h().call('PATCH', `/v1/members/${viewer.userId}`, {
          token: manager.token,
          body: { role: 'analyst' },
        })
      ).status,
      204,
    )
    assert.equal(
      (await h().call('GET', '/v1/me', { token: viewer.token })).body.error.code,
      'HM_ERR_AUTH_REVOKED',
    )
    const relogin = await h().call('POST', '/v1/auth/login', {
      body: { email: viewer.email, password: PASSWORD },
    })
    assert.equal(relogin.body.role, 'analyst')
    assert.equal(
      (await h().call('DELETE', `/v1/members/${viewer.userId}`, { token: manager.token })).status,
      204,
    )
    const gone = await h().call('POST', '/v1/auth/login', {
      body: { email: viewer.email, password: PASSWORD },
    })
    assert.equal(gone.body.error.code, 'HM_ERR_AUTH_NOT_MEMBER')
  })

  test('ownership moves by transfer only: the new owner holds it, the old one becomes admin', async () => {
    const o = await signUp(h())
    const admin = await join(h(), o.token, 'admin')
    const other = await signUp(h(), 'outsider')
    const foreign = await h().call('POST', '/v1/org/transfer', {
      token: o.token,
      body: { userId: other.userId },
    })
    assert.equal(foreign.body.error.code, 'HM_ERR_ACCOUNT_NOT_FOUND')
    const byAdmin = await h().call('POST', '/v1/org/transfer', {
      token: admin.token,
      body: { userId: admin.userId },
    })
    assert.equal(byAdmin.body.error.code, 'HM_ERR_AUTH_FORBIDDEN')
    assert.equal(
      (await h().call('POST', '/v1/org/transfer', { token: o.token, body: { userId: admin.userId } })).status,
      204,
    )
    const members = await h().call('POST', '/v1/auth/login', {
      body: { email: admin.email, password: PASSWORD },
    })
    assert.equal(members.body.role, 'owner')
    const old = await h().call('POST', '/v1/auth/login', { body: { email: o.email, password: PASSWORD } })
    assert.equal(old.body.role, 'admin')
    const audit = await h().call('GET', '/v1/audit?action=org.transfer', { token: members.body.accessToken })
    // Newest first: the transfer, the admin's refused try, the owner's try on an outsider.
    assert.deepEqual(
      audit.body.entries.map((e: { status: number; target: string | null }) => [e.status, e.target]),
      [
        [204, admin.userId],
        [403, null],
        [404, null],
      ],
    )
  })

  test('revoked invitations cannot be accepted; only the owner deletes the organisation, by name', async () => {
    const o = await signUp(h())
    const inv = await h().call('POST', '/v1/invitations', {
      token: o.token,
      body: { email: email(), role: 'viewer' },
    })
    assert.equal((await h().call('DELETE', `/v1/invitations/${inv.body.id}`, { token: o.token })).status, 204)
    const acc = await h().call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password: PASSWORD, name: 'x' },
    })
    assert.equal(acc.body.error.code, 'HM_ERR_ACCOUNT_BAD_INVITATION')
    const site = await h().call('POST', '/v1/sites', {
      token: o.token,
      body: { name: 's', domain: 's.example' },
    })
    const { rows } = await h().pool.query('SELECT name FROM organizations WHERE id = $1', [o.orgId])
    assert.equal(
      (await h().call('DELETE', '/v1/org', { token: o.token, body: { confirm: rows[0].name } })).status,
      204,
    )
    assert.equal((await h().pool.query('SELECT 1 FROM websites WHERE id = $1', [site.body.id])).rowCount, 0)
    assert.equal((await h().call('GET', '/v1/me', { token: o.token })).body.error.code, 'HM_ERR_AUTH_REVOKED')
    const audit = await h().pool.query(
      "SELECT actor_user_id, details FROM audit_log WHERE action = 'org.delete' AND actor_user_id = $1",
      [o.userId],
    )
    assert.equal(audit.rows[0]?.details.deletedOrg, o.orgId)
  })
})
