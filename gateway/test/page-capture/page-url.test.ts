import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { cleanUrl } from '../../../sdk/src/url.ts'
import { isPrivateAddress, isPrivateDomain } from '../../src/page-capture/address-policy.ts'
import { cleanPageUrl, resolvePage } from '../../src/page-capture/page-url.ts'

const gateway = { requestOrigin: 'https://heatmaps.corp.example', localOrigin: 'http://127.0.0.1:8080' }
const code = (fn: () => unknown): string => {
  try {
    fn()
  } catch (e) {
    return (e as { code: string }).code
  }
  return 'no error'
}

describe('addresses the gateway does not fetch from', () => {
  test('private, loopback, link-local, shared and mapped addresses are private; public ones are not', () => {
    for (const ip of [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '64:ff9b::10.0.0.1',
      '[::1]',
    ])
      assert.equal(isPrivateAddress(ip), true, ip)
    for (const ip of ['8.8.8.8', '172.32.0.1', '93.184.216.34', '2606:4700::1111', '::ffff:8.8.8.8'])
      assert.equal(isPrivateAddress(ip), false, ip)
  })

  test('a site on localhost or a private address is on a private network; a public name is not', async () => {
    assert.equal(await isPrivateDomain('localhost'), true)
    assert.equal(await isPrivateDomain('app.localhost'), true)
    assert.equal(await isPrivateDomain('10.0.0.7'), true)
    assert.equal(await isPrivateDomain('https://127.0.0.1:3000/'), true)
    assert.equal(await isPrivateDomain('93.184.216.34'), false)
  })
})

describe('the page a caller asks about', () => {
  const shop = { domain: 'shop.example', allowedOrigins: [] }

  test('a path is taken on the domain over https; query strings and anchors are dropped, SPA routes kept', () => {
    assert.deepEqual(resolvePage('/pricing?email=a@b.c#top', shop, gateway), {
      url: 'https://shop.example/pricing',
      fetchUrl: 'https://shop.example/pricing',
    })
    assert.equal(
      resolvePage('/app/#/orders/7?tab=2', shop, gateway).url,
      'https://shop.example/app/#/orders/7',
    )
  })

  test('the query masking is the SDK`s own', () => {
    for (const href of [
      'https://shop.example/a?token=secret',
      'https://shop.example/#/route?x=1',
      'https://shop.example/#!/r',
      'https://shop.example/p#access_token=abc',
      'http://shop.example:8080/deep/path/?q=1#frag',
    ])
      assert.equal(cleanPageUrl(new URL(href)), cleanUrl(href), href)
  })

  test('URLs on the domain, its subdomains and the allowed origins are pages of the site', () => {
    assert.equal(resolvePage('https://www.shop.example/a', shop, gateway).url, 'https://www.shop.example/a')
    assert.equal(resolvePage('http://shop.example/a', shop, gateway).url, 'http://shop.example/a')
    const listed = {
      domain: 'shop.example',
      allowedOrigins: ['https://*.cdn.example', 'http://10.0.0.9:3000'],
    }
    assert.equal(resolvePage('https://eu.cdn.example/p', listed, gateway).url, 'https://eu.cdn.example/p')
    // A path goes to the first exact listed origin.
    assert.equal(resolvePage('/p', listed, gateway).url, 'http://10.0.0.9:3000/p')
  })

  test('anything else is refused as off the site, naming the host', () => {
    for (const url of [
      'https://evil.example/',
      'https://shop.example.evil.example/',
      'https://notshop.example/',
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:8123/?query=SELECT%201',
    ])
      assert.equal(
        code(() => resolvePage(url, shop, gateway)),
        'HM_ERR_PAGE_OFF_SITE',
        url,
      )
    assert.match(
      (() => {
        try {
          resolvePage('https://evil.example/', shop, gateway)
          return ''
        } catch (e) {
          return (e as Error).message
        }
      })(),
      /url: evil\.example is not shop\.example/,
    )
  })

  test('other schemes, credentials and garbage are bad parameters', () => {
    assert.equal(
      code(() => resolvePage('file:///etc/passwd', shop, gateway)),
      'HM_ERR_QUERY_BAD_PARAM',
    )
    assert.equal(
      code(() => resolvePage('https://u:p@shop.example/', shop, gateway)),
      'HM_ERR_QUERY_BAD_PARAM',
    )
    assert.equal(
      code(() => resolvePage('not a url', shop, gateway)),
      'HM_ERR_QUERY_BAD_PARAM',
    )
    // Protocol-relative: not a path of the site.
    assert.equal(
      code(() => resolvePage('//evil.example/x', shop, gateway)),
      'HM_ERR_QUERY_BAD_PARAM',
    )
  })

  test('a site on localhost (the demo) is the gateway itself: shown at its address, fetched locally', () => {
    const demo = { domain: 'localhost', allowedOrigins: [] }
    assert.deepEqual(resolvePage('/demo', demo, gateway), {
      url: 'https://heatmaps.corp.example/demo',
      fetchUrl: 'http://127.0.0.1:8080/demo',
    })
    // localhost and 127.0.0.1 are the same machine; another host is not.
    assert.equal(resolvePage('http://127.0.0.1:3000/x', demo, gateway).fetchUrl, 'http://127.0.0.1:3000/x')
    assert.equal(
      code(() => resolvePage('https://other.example/demo', demo, gateway)),
      'HM_ERR_PAGE_OFF_SITE',
    )
  })
})
