import assert from 'node:assert/strict'
import { test } from 'node:test'
import { recordConsent } from '../../src/accounts/consent.ts'
import { FieldCipher } from '../../src/auth/field-cipher.ts'
import { reencryptFields } from '../../src/auth/keys.ts'
import { onEachDatabase, signUp } from './harness.ts'

test('AES-256-GCM fields: round trip, random IVs, bound to their field, tamper-evident', () => {
  const c = FieldCipher.parse(FieldCipher.generateSpec('k1'))
  const a = c.encrypt('consent_records.ip', '203.0.113.0')
  const b = c.encrypt('consent_records.ip', '203.0.113.0')
  assert.notEqual(a, b)
  assert.match(a, /^enc1\.k1\./)
  assert.equal(c.decrypt('consent_records.ip', a), '203.0.113.0')
  assert.throws(() => c.decrypt('consent_records.user_agent', a))
  const [prefix, id, body] = a.split('.')
  const raw = Buffer.from(body!, 'base64url')
  raw[raw.length - 1] = raw[raw.length - 1]! ^ 1
  assert.throws(() => c.decrypt('consent_records.ip', `${prefix}.${id}.${raw.toString('base64url')}`))
  assert.throws(() => FieldCipher.parse('short:AAAA'), /32 bytes/)
})

test('after a rotation old ciphertexts still open under their key id; an unknown key id is named', () => {
  const old = FieldCipher.parse(FieldCipher.generateSpec('old'))
  const oldSpec = `old:${old.current.key.toString('base64')}`
  const rotated = FieldCipher.parse(`${FieldCipher.generateSpec('new')},${oldSpec}`)
  const before = old.encrypt('users.mfa_secret', 'JBSWY3DPEHPK3PXP')
  assert.equal(rotated.decrypt('users.mfa_secret', before), 'JBSWY3DPEHPK3PXP')
  assert.match(rotated.encrypt('users.mfa_secret', 'x'), /^enc1\.new\./)
  const newOnly = FieldCipher.parse(FieldCipher.generateSpec('other'))
  assert.throws(() => newOnly.decrypt('users.mfa_secret', before), /key old, which is not configured/)
})

onEachDatabase('key rotation re-encrypts stored fields', (h) => {
  test('every encrypted column moves to the new key and still reads the same', async () => {
    const o = await signUp(h())
    const cipher = h().ctx.keys.cipher
    const site = await h().call('POST', '/v1/sites', {
      token: o.token,
      body: { name: 's', domain: 's.example' },
    })
    await recordConsent(h().pool, h().ctx.cache, cipher, {
      siteId: site.body.id,
      visitorId: 'v',
      granted: true,
      source: 'sdk',
      ip: '198.51.100.7',
      userAgent: 'UA/1',
      ipHandling: 'anonymize',
    })
    const { rows } = await h().pool.query(
      'SELECT ip_enc, user_agent_enc FROM consent_records WHERE site_id = $1',
      [site.body.id],
    )
    assert.ok(
      !rows[0].ip_enc.includes('198.51') && !rows[0].user_agent_enc.includes('UA/1'),
      'stored encrypted',
    )
    assert.equal(cipher.decrypt('consent_records.ip', rows[0].ip_enc), '198.51.100.0')

    const rotated = FieldCipher.parse(
      `${FieldCipher.generateSpec('next')},${cipher.current.id}:${cipher.current.key.toString('base64')}`,
    )
    const moved = await reencryptFields(h().pool, rotated)
    assert.ok(moved >= 2)
    assert.equal(await reencryptFields(h().pool, rotated), 0, 'idempotent')
    const after = await h().pool.query(
      'SELECT ip_enc, user_agent_enc FROM consent_records WHERE site_id = $1',
      [site.body.id],
    )
    assert.match(after.rows[0].ip_enc, /^enc1\.next\./)
    const onlyNew = FieldCipher.parse(`next:${rotated.current.key.toString('base64')}`)
    assert.equal(onlyNew.decrypt('consent_records.user_agent', after.rows[0].user_agent_enc), 'UA/1')
  })
})
