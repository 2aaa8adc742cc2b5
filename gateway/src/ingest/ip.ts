import { isIPv4, isIPv6 } from 'node:net'

/** What an address that cannot be parsed anonymises to: it still rate-limits, together with its kind. */
export const UNKNOWN_IP = 'unknown'

function anonymiseV4(ip: string): string {
  const parts = ip.split('.')
  parts[3] = '0'
  return parts.join('.')
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an embedded IPv4 tail converted). */
function groupsV6(ip: string): number[] {
  let text = ip.split('%')[0]!.toLowerCase()
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)))
  const h = parse(head)
  const t = tail === undefined ? [] : parse(tail)
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
}

/**
 * The address with its host part zeroed, before anything keeps it: the last octet of IPv4 (a /24), the
 * last 80 bits of IPv6 (a /48). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is treated as IPv4.
 *
 * @example
 * anonymiseIp('203.0.113.77') // '203.0.113.0'
 * anonymiseIp('2001:db8:85a3:8d3:1319:8a2e:370:7348') // '2001:db8:85a3::'
 */
export function anonymiseIp(ip: string | undefined): string {
  if (ip === undefined) return UNKNOWN_IP
  if (isIPv4(ip)) return anonymiseV4(ip)
  if (!isIPv6(ip)) return UNKNOWN_IP
  const g = groupsV6(ip)
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return anonymiseV4(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`)
  }
  const kept = g.slice(0, 3)
  while (kept.length > 0 && kept[kept.length - 1] === 0) kept.pop()
  return `${kept.map((x) => x.toString(16)).join(':')}::`
}
