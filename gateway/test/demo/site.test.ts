import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DEMO_WIDTH, demoPageByPath, demoPages, renderDemoPage } from '../../src/demo/site.ts'

const options = { siteKey: 'demo_site_KEY-1', sdkSrc: '/sdk/hm.js' }

describe('demo site', () => {
  test('has the four pages, home first, each with a realistic height', () => {
    assert.deepEqual(
      demoPages.map((p) => p.path),
      ['/demo/', '/demo/pricing', '/demo/blog', '/demo/docs'],
    )
    assert.equal(demoPageByPath('/demo/')!.height, 2400)
    assert.equal(demoPageByPath('/demo/blog')!.height, 5000)
    for (const page of demoPages) assert.ok(page.height >= 2000 && page.elements.length >= 20, page.path)
  })

  test('demoPageByPath tolerates trailing slashes, query strings and fragments', () => {
    assert.equal(demoPageByPath('/demo')?.path, '/demo/')
    assert.equal(demoPageByPath('/demo/pricing/')?.path, '/demo/pricing')
    assert.equal(demoPageByPath('/demo/docs?utm_source=x#install')?.path, '/demo/docs')
    assert.equal(demoPageByPath('/demo/nope'), undefined)
  })

  test('every element has a unique id, a box inside the 1280 px document and a positive weight', () => {
    for (const page of demoPages) {
      const ids = new Set<string>()
      for (const e of page.elements) {
        assert.ok(!ids.has(e.id), `${page.path}: duplicate id ${e.id}`)
        ids.add(e.id)
        assert.equal(e.selector, `#${e.id}`)
        assert.ok(e.x >= 0 && e.y >= 0 && e.w > 0 && e.h > 0, `${e.id} has a box`)
        assert.ok(e.x + e.w <= DEMO_WIDTH && e.y + e.h <= page.height, `${page.path} ${e.id} inside the page`)
        assert.ok(e.weight > 0, `${e.id} weight`)
      }
    }
  })

  test('every element selector is in the rendered page, at its data box', () => {
    for (const page of demoPages) {
      const html = renderDemoPage(page, options)
      assert.match(html, /^<!doctype html>/)
      assert.ok(html.includes(`<main class="page" style="height:${page.height}px">`))
      for (const e of page.elements) {
        const tag = new RegExp(`<\\w+ id="${e.id}" class="[^"]*" style="([^"]*)"`, 'g')
        const found = [...html.matchAll(tag)]
        assert.equal(found.length, 1, `${page.path}: ${e.selector} rendered once`)
        assert.equal(found[0]![1], `left:${e.x}px;top:${e.y}px;width:${e.w}px;height:${e.h}px`)
      }
      for (const e of page.elements.filter((x) => x.private)) {
        assert.match(html, new RegExp(`id="${e.id}"[^>]*data-hm-ignore`), `${e.id} is hidden from capture`)
      }
    }
  })

  test('links point to existing demo pages or stay on the page; every page links to every other', () => {
    for (const page of demoPages) {
      const html = renderDemoPage(page, options)
      const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!)
      assert.ok(hrefs.length > 0)
      for (const href of hrefs) {
        assert.ok(
          href.startsWith('#') || demoPageByPath(href) !== undefined,
          `${page.path}: ${href} is a demo page`,
        )
      }
      for (const other of demoPages) {
        if (other !== page) assert.ok(hrefs.includes(other.path), `${page.path} links to ${other.path}`)
      }
    }
  })

  test('the SDK script tag carries the site key, and the options it is given', () => {
    const html = renderDemoPage(demoPages[0]!, options)
    assert.match(html, /<script src="\/sdk\/hm\.js" data-site="demo_site_KEY-1" defer><\/script>/)
    assert.doesNotMatch(html, /data-consent-required/)
    const withConsent = renderDemoPage(demoPages[0]!, {
      ...options,
      endpoint: 'https://hm.example/v1/events/collect',
      consentRequired: true,
    })
    assert.match(
      withConsent,
      /<script src="\/sdk\/hm\.js" data-site="demo_site_KEY-1" data-endpoint="https:\/\/hm\.example\/v1\/events\/collect" data-consent-required="true" defer><\/script>/,
    )
    assert.match(withConsent, /hm\.consent\(true\)/)
  })

  test('attribute values are escaped', () => {
    const html = renderDemoPage(demoPages[0]!, { siteKey: 'a"><script>x', sdkSrc: '/sdk/hm.js?v=1&x=2' })
    assert.ok(html.includes('data-site="a&quot;&gt;&lt;script&gt;x"'))
    assert.ok(html.includes('src="/sdk/hm.js?v=1&amp;x=2"'))
  })
})
