import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import type { Socket } from 'node:net'

/**
 * A minimal WebSocket client for tests (Node 20 has no global WebSocket and the repository no `ws`
 * typings): the HTTP upgrade, unmasked text frames from the server, a masked close frame from us.
 */
export interface LiveSocket {
  readonly messages: unknown[]
  /** The close code the server sent, once it closes. */
  readonly closed: Promise<number>
  /** The first message (already received or to come) that `match` accepts. */
  next<T>(match: (m: T) => boolean, timeoutMs?: number): Promise<T>
  close(): void
}

export type Upgrade = { ok: true; socket: LiveSocket } | { ok: false; status: number; body: string }

export function connect(url: string, headers: Record<string, string> = {}): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        ...headers,
      },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, body }))
    })
    req.on('upgrade', (_res, socket: Socket, head: Buffer) =>
      resolve({ ok: true, socket: wrap(socket, head) }),
    )
    req.end()
  })
}

function wrap(socket: Socket, head: Buffer): LiveSocket {
  const messages: unknown[] = []
  const waiters: Array<() => void> = []
  let onClose: (code: number) => void = () => {}
  const closed = new Promise<number>((resolve) => {
    onClose = resolve
  })
  let buf = head
  const parse = (): void => {
    for (;;) {
      if (buf.length < 2) return
      const opcode = buf[0]! & 0x0f
      let len = buf[1]! & 0x7f
      let off = 2
      if (len === 126) {
        if (buf.length < 4) return
        len = buf.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (buf.length < 10) return
        len = Number(buf.readBigUInt64BE(2))
        off = 10
      }
      if (buf.length < off + len) return
      const payload = buf.subarray(off, off + len)
      buf = buf.subarray(off + len)
      if (opcode === 1) {
        messages.push(JSON.parse(payload.toString('utf8')))
        for (const w of waiters.splice(0)) w()
      } else if (opcode === 8) onClose(payload.length >= 2 ? payload.readUInt16BE(0) : 1005)
    }
  }
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d])
    parse()
  })
  // A connection reset (the server's process ended, or it dropped the socket after our close) is a close
  // without a close frame: 1006, as a browser reports it.
  socket.on('error', () => onClose(1006))
  parse()
  return {
    messages,
    closed,
    next<T>(match: (m: T) => boolean, timeoutMs = 15_000): Promise<T> {
      return new Promise((resolve, reject) => {
        let seen = 0
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`,
              ),
            ),
          timeoutMs,
        )
        const check = (): void => {
          for (; seen < messages.length; seen++) {
            if (match(messages[seen] as T)) {
              clearTimeout(timer)
              resolve(messages[seen] as T)
              return
            }
          }
          waiters.push(check)
        }
        check()
      })
    },
    close(): void {
      const mask = randomBytes(4)
      socket.end(Buffer.concat([Buffer.from([0x88, 0x80]), mask]))
    },
  }
}
