import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { anonymiseIp } from '../../src/ingest/ip.ts'
import { cleanReferrer, scrubPii } from '../../src/ingest/pii.ts'

describe('IP anonymisation', () => {
  const cases: Array<[string | undefined, string]> = [
    ['203.0.113.77', '203.0.113.0'],
    ['10.0.0.255', '10.0.0.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8::'],
    ['fe80::1%eth0', 'fe80::'],
    ['::1', '::'],
    ['::ffff:192.0.2.130', '192.0.2.0'],
    ['::ffff:c000:282', '192.0.2.0'],
    ['not an ip', 'unknown'],
    [undefined, 'unknown'],
  ]
  for (const [ip, want] of cases) {
    test(`${ip} → ${want}`, () => assert.equal(anonymiseIp(ip), want))
  }
})

describe('PII scrubbing', () => {
  const cases: Array<[string, string]> = [
    [
      'https://shop.example/users/jane.doe+news@example.co.uk/orders',
      'https://shop.example/users/[email]/orders',
    ],
    ['/u/jane%40example.com', '/u/[email]'],
    // '-' belongs to an address's local part: the whole id goes.
    ['#user-jane\\.doe\\@example\\.com > span.name', '#[email] > span.name'],
    ['/pay/4111 1111 1111 1111/done', '/pay/[card]/done'],
    ['/pay/4111-1111-1111-1111', '/pay/[card]'],
    ['/pay/5500005555555559', '/pay/[card]'],
    ['/ssn/123-45-6789', '/ssn/[ssn]'],
    // Not personal: an order number that fails Luhn, a date, a version, a short number.
    ['/orders/4111111111111112', '/orders/4111111111111112'],
    ['/blog/2026-01-15/post', '/blog/2026-01-15/post'],
    ['/v/1.2.3', '/v/1.2.3'],
    ['div.card:nth-of-type(12) > a', 'div.card:nth-of-type(12) > a'],
    ['/a@b', '/a@b'],
  ]
  for (const [input, want] of cases) {
    test(`${input} → ${want}`, () => assert.equal(scrubPii(input), want))
  }

  test('a long hostile string is scrubbed in bounded time and stays the same length class', () => {
    const s = `${'a.'.repeat(1000)}@`
    assert.equal(scrubPii(s), s)
  })

  test('referrers keep origin and path only, scrubbed; non-http referrers are dropped', () => {
    assert.equal(
      cleanReferrer('https://www.google.com/search?q=jane@example.com#frag'),
      'https://www.google.com/search',
    )
    assert.equal(
      cleanReferrer('https://mail.example/inbox/jane@example.com'),
      'https://mail.example/inbox/[email]',
    )
    assert.equal(cleanReferrer('javascript:alert(1)'), undefined)
    assert.equal(cleanReferrer('not a url'), undefined)
    assert.equal(cleanReferrer(''), undefined)
  })
})
