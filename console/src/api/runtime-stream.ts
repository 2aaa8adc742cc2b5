import { ApiError, apiResponse } from './client'
import type { StreamStatus } from './stream-status'
import type { RuntimeView } from './types'

const MAX_BACKOFF_MS = 15_000

/**
 * The runtime dashboard's server-sent stream (`/v1/runtime/stream`), read with `fetch` so the access
 * token goes in the Authorization header (EventSource cannot set one) and a refusal arrives with its
 * error body. The gateway ends a stream after a few minutes, which checks the permission again: it is
 * reopened at once; a lost connection is reopened with backoff; a refusal (4xx) is final.
 */
export function openRuntimeStream(on: {
  onStats(view: RuntimeView): void
  onStatus(status: StreamStatus): void
}): { close(): void } {
  let closed = false
  let failures = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let abort: AbortController | undefined

  const read = async (body: ReadableStream<Uint8Array>): Promise<void> => {
    const reader = body.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done || closed) return
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (!/^event: stats$/m.test(frame)) continue
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n')
        try {
          on.onStats(JSON.parse(data) as RuntimeView)
        } catch (e) {
          console.warn('[console] runtime stream: an event that is not JSON', e)
        }
      }
    }
  }

  const connect = async (): Promise<void> => {
    on.onStatus({ state: 'connecting' })
    abort = new AbortController()
    try {
      const res = await apiResponse('/v1/runtime/stream', { signal: abort.signal })
      if (res.body === null) throw new Error('the stream has no body')
      failures = 0
      on.onStatus({ state: 'live' })
      await read(res.body)
    } catch (e) {
      if (closed) return
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        on.onStatus({ state: 'refused', code: e.code, message: e.message })
        return
      }
      failures++
    }
    if (closed) return
    // Ended by the gateway (its streams last a few minutes): again at once; after a failure, later.
    const inMs = failures === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failures - 1))
    if (inMs > 0) on.onStatus({ state: 'reconnecting', inMs })
    timer = setTimeout(() => void connect(), inMs)
  }

  void connect()
  return {
    close() {
      closed = true
      clearTimeout(timer)
      abort?.abort()
    },
  }
}
