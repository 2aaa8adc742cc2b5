import { withQuery } from '../api/http'
import type { StreamStatus } from '../api/stream-status'
import type { Cell, HeatmapKind, LiveMessage, ViewportClass } from '../api/types'
import { accessToken, renew } from '../auth/session'

export interface LiveSubscription {
  siteId: string
  page: string
  type: HeatmapKind
  viewport?: ViewportClass | undefined
}

export interface LiveHandlers {
  /** The gateway now streams every change of the page: a snapshot read from here on misses nothing. */
  onHello(): void
  onDelta(cells: Cell[], at: number): void
  onSite(visitors: number, eventsPerSecond: number, at: number): void
  onStatus(status: StreamStatus): void
}

const MAX_BACKOFF_MS = 15_000

/**
 * The page's live stream (`/v1/sites/<id>/live`) over a WebSocket, reconnecting with backoff until
 * closed. The access token goes in `access_token=` (a browser cannot set headers on a WebSocket); an
 * expired one is renewed and the socket reopened at once. A refusal other than an expired token (no
 * permission, unknown site, bad parameter) is final.
 */
export function openLive(sub: LiveSubscription, on: LiveHandlers): { close(): void } {
  let ws: WebSocket | undefined
  let closed = false
  let failures = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const connect = async (): Promise<void> => {
    on.onStatus({ state: 'connecting' })
    let token: string | null
    try {
      token = await accessToken()
    } catch {
      token = null
    }
    if (closed) return
    if (token === null) {
      on.onStatus({ state: 'refused', code: 'HM_ERR_AUTH_MISSING', message: 'not signed in' })
      return
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const url = withQuery(`${proto}//${location.host}/v1/sites/${encodeURIComponent(sub.siteId)}/live`, {
      page: sub.page,
      type: sub.type,
      viewport: sub.viewport,
      access_token: token,
    })
    const socket = new WebSocket(url)
    ws = socket
    let refusal: { code: string; message: string } | undefined
    socket.onmessage = (ev) => {
      let m: LiveMessage
      try {
        m = JSON.parse(String(ev.data)) as LiveMessage
      } catch {
        console.warn('[console] live: a frame that is not JSON', ev.data)
        return
      }
      switch (m.kind) {
        case 'hello':
          failures = 0
          on.onStatus({ state: 'live' })
          on.onHello()
          break
        case 'delta':
          on.onDelta(m.cells, m.at)
          break
        case 'site':
          on.onSite(m.visitors, m.eventsPerSecond, m.at)
          break
        case 'error':
          refusal = m.error
          break
      }
    }
    socket.onclose = (ev) => {
      if (ws === socket) ws = undefined
      if (closed) return
      // 4000 + the HTTP status of a refusal: an expired token is renewed, other refusals are final.
      if (ev.code === 4401 && refusal?.code === 'HM_ERR_AUTH_EXPIRED' && failures === 0) {
        failures++
        void renew().then(() => connect())
        return
      }
      if (ev.code >= 4400 && ev.code < 4500) {
        on.onStatus({
          state: 'refused',
          code: refusal?.code ?? `close ${ev.code}`,
          message: refusal?.message ?? ev.reason,
        })
        return
      }
      const inMs = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures++)
      on.onStatus({ state: 'reconnecting', inMs })
      timer = setTimeout(() => void connect(), inMs)
    }
  }

  void connect()
  return {
    close() {
      closed = true
      clearTimeout(timer)
      ws?.close(1000, 'done')
    },
  }
}
