import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { GatewayError } from '../errors.ts'

/**
 * Which network addresses the gateway may fetch a website's page (and everything that page loads) from.
 * The gateway fetches on a user's behalf, so without this it would be a way into the networks behind
 * it: cloud metadata, a ClickHouse listening on localhost, an intranet.
 */
export interface AddressPolicy {
  /**
   * Private and loopback addresses are reachable: the operator allowed it (HM_PAGE_PRIVATE_NETWORK) and
   * the website's own domain is one (an intranet site).
   */
  privateNetwork: boolean
  /**
   * The port the gateway itself listens on: a loopback address on it is this gateway, whose unauthenticated
   * pages (the embedded demo site) anyone reaching it can read anyway.
   */
  selfPort: number | undefined
}

const reserved = new BlockList()
// biome-ignore format: one range a line
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) reserved.addSubnet(net, prefix, 'ipv4')
// biome-ignore format: one range a line
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) reserved.addSubnet(net, prefix, 'ipv6')

/** The IPv4 address an IPv6 one carries (mapped `::ffff:a.b.c.d` or NAT64 `64:ff9b::/96`), if any. */
function embeddedV4(ip: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(ip)
  if (m === null) return undefined
  if (m[1] !== undefined) return m[1]
  const hi = Number.parseInt(m[2]!, 16)
  const lo = Number.parseInt(m[3]!, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

/** Loopback, private, link-local, shared, documentation, multicast or unspecified: not the public internet. */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '')
  const v4 = isIP(bare) === 6 ? embeddedV4(bare) : bare
  if (v4 !== undefined && isIP(v4) === 4) return reserved.check(v4, 'ipv4')
  return isIP(bare) === 6 ? reserved.check(bare, 'ipv6') : false
}

export function isLoopbackAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '')
  const v4 = isIP(bare) === 6 ? (embeddedV4(bare) ?? bare) : bare
  return v4 === '::1' || (isIP(v4) === 4 && v4.startsWith('127.'))
}

/** `localhost`, `*.localhost` or a loopback address: a name that always means this machine. */
export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost') || isLoopbackAddress(h)
}

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/**
 * Resolves `url`'s host and checks every address against the policy; the connection then goes to one
 * of these addresses (never a second lookup, which a rebinding DNS server could answer differently).
 */
export async function checkedAddresses(url: URL, policy: AddressPolicy): Promise<ResolvedAddress[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  let addresses: ResolvedAddress[]
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) as 4 | 6 }]
  else if (isLoopbackName(host)) addresses = [{ address: '127.0.0.1', family: 4 }]
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })) as ResolvedAddress[]
    } catch (e) {
      throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${host}: ${(e as NodeJS.ErrnoException).code ?? e}`)
    }
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  for (const a of addresses) {
    if (!isPrivateAddress(a.address) || policy.privateNetwork) continue
    if (isLoopbackAddress(a.address) && port === policy.selfPort) continue
    throw new GatewayError('HM_ERR_PAGE_PRIVATE_ADDRESS', `${url.host} is ${a.address}`)
  }
  return addresses
}

/**
 * Whether a website's own domain is on a private network (`localhost`, a private address, or a name that
 * resolves only to private addresses): only then may its pages be fetched from one.
 */
export async function isPrivateDomain(domain: string): Promise<boolean> {
  const host = domain
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '')
    .replace(/[/:].*$/, '')
  if (host === '') return false
  if (isLoopbackName(host)) return true
  if (isIP(host) !== 0) return isPrivateAddress(host)
  try {
    const all = await lookup(host, { all: true })
    return all.length > 0 && all.every((a) => isPrivateAddress(a.address))
  } catch {
    return false
  }
}
