import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import { impossiblePace, isBotUserAgent, isBrowserUserAgent } from '../../src/ingest/bots.ts'
import { UserAgentParser } from '../../src/ingest/user-agent.ts'

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1'
const ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36'

describe('bot user agents', () => {
  const bots = [
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 Chrome-Lighthouse',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)',
    'Mozilla/5.0 (compatible; YandexBot/3.0)',
  ]
  for (const ua of bots) test(`bot: ${ua.slice(0, 60)}`, () => assert.equal(isBotUserAgent(ua), true))
  const people = [
    CHROME,
    IPAD,
    ANDROID,
    'Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36',
    'curl/8.5.0',
  ]
  for (const ua of people)
    test(`not a bot: ${ua.slice(0, 60)}`, () => assert.equal(isBotUserAgent(ua), false))
  test('no user agent is not a bot by itself', () => assert.equal(isBotUserAgent(undefined), false))
  test('browsers are told from plain HTTP clients', () => {
    assert.equal(isBrowserUserAgent(CHROME), true)
    assert.equal(isBrowserUserAgent('curl/8.5.0'), false)
    assert.equal(isBrowserUserAgent(undefined), false)
  })
})

describe('behaviour: a pace no person has', () => {
  const at = (type: WireEvent['type'], ts: number) => ({ type, ts }) as WireEvent
  test('20 clicks in a second is a fast person; 21 is not a person', () => {
    assert.equal(impossiblePace(Array.from({ length: 20 }, (_, i) => at('click', 1000 + i * 49))), false)
    assert.equal(impossiblePace(Array.from({ length: 21 }, (_, i) => at('click', 1000 + i * 49))), true)
  })
  test('the same clicks spread over seconds are fine, in any order', () => {
    const spread = Array.from({ length: 60 }, (_, i) => at('click', 1000 + ((i * 37) % 60) * 200))
    assert.equal(impossiblePace(spread), false)
  })
  test('more than 10 page views in a second', () => {
    assert.equal(impossiblePace(Array.from({ length: 11 }, () => at('pageview', 5))), true)
    assert.equal(impossiblePace(Array.from({ length: 10 }, () => at('pageview', 5))), false)
  })
  test('moves and attention do not count as clicks', () => {
    assert.equal(impossiblePace(Array.from({ length: 50 }, () => at('move', 5))), false)
  })
})

describe('user agent → device, browser, OS', () => {
  const parser = new UserAgentParser()
  const cases: Array<[string | undefined, object]> = [
    [CHROME, { device: 'desktop', browser: 'Chrome', os: 'Windows' }],
    [IPAD, { device: 'tablet', browser: 'Safari', os: 'iOS' }],
    [ANDROID, { device: 'mobile', browser: 'Chrome', os: 'Android' }],
    ['curl/8.5.0', { device: 'unknown', browser: undefined, os: undefined }],
    ['', { device: 'unknown', browser: undefined, os: undefined }],
    [undefined, { device: 'unknown', browser: undefined, os: undefined }],
  ]
  for (const [ua, want] of cases) {
    test(`${String(ua).slice(0, 50)}`, () => {
      assert.deepEqual({ ...parser.parse(ua) }, want)
      // The second answer comes from the cache and is the same.
      assert.deepEqual({ ...parser.parse(ua) }, want)
    })
  }
})
