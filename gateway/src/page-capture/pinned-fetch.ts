import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { GatewayError } from '../errors.ts'
import { type AddressPolicy, checkedAddresses } from './address-policy.ts'

export interface FetchedResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface PinnedFetchOptions {
  method?: string
  headers?: Record<string, string>
  body?: Buffer | undefined
  policy: AddressPolicy
  timeoutMs?: number
  /** A body longer than this fails the fetch (a page is not a download). */
  maxBytes?: number
  /** Only the status and headers are wanted: the body is not read. */
  headersOnly?: boolean
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  'accept-encoding',
])

/**
 * One HTTP request to a page's server, redirects not followed (the caller checks where each one leads).
 * The host is resolved and checked by the address policy first and the socket goes to the checked
 * address, so the policy holds even against a DNS answer that changes between two lookups.
 */
export async function pinnedFetch(url: URL, o: PinnedFetchOptions): Promise<FetchedResponse> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${url.protocol} is not fetched`)
  const addresses = await checkedAddresses(url, o.policy)
  const pinned: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) (cb as (e: null, a: typeof addresses) => void)(null, addresses)
    else cb(null, addresses[0]!.address, addresses[0]!.family)
  }
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(o.headers ?? {})) if (!HOP_BY_HOP.has(k.toLowerCase())) headers[k] = v
  headers['accept-encoding'] = 'gzip, deflate, br'
  const timeoutMs = o.timeoutMs ?? 15_000
  const maxBytes = o.maxBytes ?? 25 * 1024 * 1024
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<FetchedResponse>((resolve, reject) => {
    const fail = (detail: string) =>
      reject(new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${url.host}: ${detail}`))
    const req = send(
      url,
      { method: o.method ?? 'GET', headers, lookup: pinned, timeout: timeoutMs, agent: false },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        if (o.headersOnly === true || o.method === 'HEAD') {
          res.destroy()
          resolve({ status, headers: res.headers, body: Buffer.alloc(0) })
          return
        }
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > maxBytes) {
            res.destroy()
            fail(`the answer is larger than ${maxBytes} bytes`)
          } else chunks.push(c)
        })
        res.on('error', (e) => fail(e.message))
        res.on('end', () => {
          try {
            resolve({ status, headers: res.headers, body: decode(Buffer.concat(chunks), res.headers) })
          } catch (e) {
            fail(`undecodable ${res.headers['content-encoding']} body: ${(e as Error).message}`)
          }
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)))
    req.on('error', (e) => fail((e as NodeJS.ErrnoException).code ?? e.message))
    req.end(o.body)
  })
}

function decode(body: Buffer, headers: IncomingHttpHeaders): Buffer {
  if (body.length === 0) return body
  switch (headers['content-encoding']?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body)
    case 'br':
      return brotliDecompressSync(body)
    case 'deflate':
      return inflateSync(body)
    default:
      return body
  }
}
