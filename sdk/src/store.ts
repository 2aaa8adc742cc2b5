const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

export function randomId(length = 22): string {
  const bytes = new Uint8Array(length)
  const c = typeof crypto !== 'undefined' ? crypto : undefined
  if (c?.getRandomValues) c.getRandomValues(bytes)
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256)
  let s = ''
  for (let i = 0; i < length; i++) s += ALPHABET[bytes[i]! & 63]
  return s
}

export interface KeyValue {
  get(key: string): string | null
  set(key: string, value: string): void
  remove(key: string): void
}

/** Storage can throw (blocked cookies, sandboxed frames): fall back to memory for this page. */
export function store(kind: 'localStorage' | 'sessionStorage'): KeyValue {
  const memory: Record<string, string> = {}
  return {
    get(key) {
      try {
        return window[kind].getItem(key)
      } catch {
        return memory[key] ?? null
      }
    },
    set(key, value) {
      try {
        window[kind].setItem(key, value)
      } catch {
        memory[key] = value
      }
    },
    remove(key) {
      try {
        window[kind].removeItem(key)
      } catch {
        delete memory[key]
      }
    },
  }
}
