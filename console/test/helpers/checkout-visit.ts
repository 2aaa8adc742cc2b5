import type { WireEvent } from '@hm/actors'

/**
 * One visitor's scripted minute on a shop's checkout (`https://shop.example/checkout`, from `start`):
 * rested moves, a click on #pay, a rage burst of three clicks on #coupon, a scroll to 1600 px and a
 * dead click on #logo. Its session is 1 page view, 4 clicks, 1 rage burst (3 clicks), 1 dead click and
 * 8 s long, with the deepest scroll at 1600 px of a 3000 px page.
 */
export function checkoutVisit(start: number): WireEvent[] {
  const at = (ms: number, type: string, rest: object = {}): WireEvent =>
    ({
      type,
      ts: start + ms,
      url: 'https://shop.example/checkout',
      vw: 1280,
      vh: 800,
      dw: 1280,
      dh: 3000,
      ...rest,
    }) as WireEvent
  return [
    at(0, 'pageview', { referrer: 'https://search.example/' }),
    at(1000, 'move', { x: 100, y: 100, rest: 200 }),
    at(2000, 'move', { x: 400, y: 300, rest: 200 }),
    at(3000, 'move', { x: 800, y: 500, rest: 300 }),
    at(3500, 'click', { x: 800, y: 500, selector: '#pay' }),
    at(5000, 'click', { x: 640, y: 700, selector: '#coupon' }),
    at(5200, 'click', { x: 640, y: 700, selector: '#coupon' }),
    at(5400, 'click', { x: 640, y: 700, selector: '#coupon' }),
    at(5400, 'rage', { x: 640, y: 700, selector: '#coupon', count: 3 }),
    at(6500, 'scroll', { depth: 1600 }),
    at(7000, 'dead', { x: 300, y: 1200, selector: '#logo' }),
    at(8000, 'move', { x: 300, y: 1200, rest: 500 }),
  ]
}
