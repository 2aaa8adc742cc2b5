import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { normalizePage } from '@hm/actors'
import fc from 'fast-check'
import { cleanUrl, pageOf } from '../src/url.ts'

describe('URLs in the browser', () => {
  test('query strings, anchors and token fragments never stay; SPA routes do, without their query', () => {
    const cases: Array<[string, string]> = [
      ['https://shop.example/pricing?email=jane@example.com&utm=x', 'https://shop.example/pricing'],
      ['https://shop.example/cb#access_token=abc&state=1', 'https://shop.example/cb'],
      ['https://shop.example/docs#install', 'https://shop.example/docs'],
      ['https://app.example/#/settings?tab=billing', 'https://app.example/#/settings'],
      ['https://app.example/#!/inbox', 'https://app.example/#!/inbox'],
      ['https://user:pw@shop.example/a', 'https://shop.example/a'],
      ['not a url', ''],
    ]
    for (const [href, want] of cases) assert.equal(cleanUrl(href), want, href)
  })

  test("the overlay's page of a URL is the page the actors keep its heatmap under", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/)
    const url = fc
      .record({
        host: fc.domain(),
        path: fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
        index: fc.constantFrom('', '/', '/index.html', '/INDEX.HTM', '//'),
        query: fc.constantFrom('', '?a=1', '?email=x%40y.z'),
        hash: fc.constantFrom('', '#top', '#/route', '#!/r/1', '#/r?x=1', '#'),
      })
      .map((u) => `https://${u.host}${u.path}${u.index}${u.query}${u.hash}`)
    fc.assert(
      fc.property(url, (href) => {
        assert.equal(pageOf(href), normalizePage(href))
        // What the SDK sends normalises to the same page as the address it came from.
        assert.equal(normalizePage(cleanUrl(href)), normalizePage(href))
      }),
      { numRuns: 500 },
    )
  })
})
