/**
 * A QR code encoder for short texts (an otpauth:// URI): byte mode, error correction level M, the
 * smallest version that holds the text, the mask with the lowest penalty (ISO/IEC 18004; the
 * finder-like-pattern rule is counted on each line's modules alone, which can pick another valid mask
 * than a fuller count would: a reader takes the mask from the format bits either way). Written here
 * rather than taken from a package: it is one page of arithmetic, and the console stays free of a
 * dependency for one image on one page.
 */

// Per version (index 1–40), level M: error-correction codewords per block and number of blocks.
// biome-ignore format: tables
const ECC_PER_BLOCK = [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28]
// biome-ignore format: tables
const BLOCKS = [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49]
/** Level M's two format bits. */
const LEVEL_M_BITS = 0

/** A QR code: `size` × `size` modules, `dark(x, y)` true for a dark one. */
export interface QrCode {
  version: number
  size: number
  mask: number
  dark(x: number, y: number): boolean
}

/** Modules available for data (all but the function patterns), in bits. */
function rawDataModules(version: number): number {
  let n = (16 * version + 128) * version + 64
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2
    n -= (25 * align - 10) * align - 55
    if (version >= 7) n -= 36
  }
  return n
}

const dataCodewords = (version: number): number =>
  Math.floor(rawDataModules(version) / 8) - ECC_PER_BLOCK[version]! * BLOCKS[version]!

/** Centres of the alignment patterns along one axis. */
function alignmentPositions(version: number): number[] {
  if (version === 1) return []
  const count = Math.floor(version / 7) + 2
  const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2
  const out = [6]
  for (let pos = version * 4 + 10; out.length < count; pos -= step) out.splice(1, 0, pos)
  return out
}

// GF(256) with the polynomial 0x11D.
function gfMultiply(x: number, y: number): number {
  let z = 0
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d)
    z ^= ((y >>> i) & 1) * x
  }
  return z & 0xff
}

function rsDivisor(degree: number): number[] {
  const result = new Array<number>(degree).fill(0)
  result[degree - 1] = 1
  let root = 1
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      result[j] = gfMultiply(result[j]!, root)
      if (j + 1 < degree) result[j] = result[j]! ^ result[j + 1]!
    }
    root = gfMultiply(root, 0x02)
  }
  return result
}

function rsRemainder(data: number[], divisor: number[]): number[] {
  const result = new Array<number>(divisor.length).fill(0)
  for (const b of data) {
    const factor = b ^ result.shift()!
    result.push(0)
    divisor.forEach((coef, i) => {
      result[i] = result[i]! ^ gfMultiply(coef, factor)
    })
  }
  return result
}

/** The data codewords with their error correction, split into blocks and interleaved. */
function interleave(version: number, data: number[]): number[] {
  const numBlocks = BLOCKS[version]!
  const eccLen = ECC_PER_BLOCK[version]!
  const rawCodewords = Math.floor(rawDataModules(version) / 8)
  const shortBlocks = numBlocks - (rawCodewords % numBlocks)
  const shortLen = Math.floor(rawCodewords / numBlocks)
  const divisor = rsDivisor(eccLen)
  const blocks: number[][] = []
  for (let i = 0, k = 0; i < numBlocks; i++) {
    const dat = data.slice(k, k + shortLen - eccLen + (i < shortBlocks ? 0 : 1))
    k += dat.length
    const ecc = rsRemainder(dat, divisor)
    // Short blocks get a placeholder so that every block has the same length while interleaving.
    if (i < shortBlocks) dat.push(-1)
    blocks.push([...dat, ...ecc])
  }
  const out: number[] = []
  for (let i = 0; i < blocks[0]!.length; i++)
    blocks.forEach((block, j) => {
      if (i !== shortLen - eccLen || j >= shortBlocks) out.push(block[i]!)
    })
  return out
}

/** Encodes `text` (UTF-8). Throws when it does not fit a version-40 code. */
export function encodeQr(text: string): QrCode {
  const bytes = [...new TextEncoder().encode(text)]
  let version = 1
  const bitsNeeded = (v: number) => 4 + (v < 10 ? 8 : 16) + bytes.length * 8
  while (version <= 40 && bitsNeeded(version) > dataCodewords(version) * 8) version++
  if (version > 40) throw new Error(`QR: ${bytes.length} bytes do not fit`)

  // Mode (byte), length, data, terminator, byte padding, pad codewords.
  const bits: number[] = []
  const put = (value: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1)
  }
  put(0b0100, 4)
  put(bytes.length, version < 10 ? 8 : 16)
  for (const b of bytes) put(b, 8)
  const capacity = dataCodewords(version) * 8
  put(0, Math.min(4, capacity - bits.length))
  put(0, (8 - (bits.length % 8)) % 8)
  for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) put(pad, 8)
  const data: number[] = []
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0))

  const size = version * 4 + 17
  const modules = Array.from({ length: size }, () => new Array<boolean>(size).fill(false))
  const fixed = Array.from({ length: size }, () => new Array<boolean>(size).fill(false))
  const set = (x: number, y: number, dark: boolean) => {
    modules[y]![x] = dark
    fixed[y]![x] = true
  }

  // Timing patterns, finders with separators, alignment patterns.
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0)
    set(i, 6, i % 2 === 0)
  }
  for (const [cx, cy] of [
    [3, 3],
    [size - 4, 3],
    [3, size - 4],
  ] as const)
    for (let dy = -4; dy <= 4; dy++)
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx
        const y = cy + dy
        const d = Math.max(Math.abs(dx), Math.abs(dy))
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, d !== 2 && d !== 4)
      }
  const align = alignmentPositions(version)
  const last = align.length - 1
  for (const [i, ax] of align.entries())
    for (const [j, ay] of align.entries()) {
      // Not over the three finders.
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1)
    }
  const drawFormat = (mask: number) => {
    const value = (LEVEL_M_BITS << 3) | mask
    let rem = value
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537)
    const f = ((value << 10) | rem) ^ 0x5412
    const bit = (i: number) => ((f >>> i) & 1) !== 0
    for (let i = 0; i <= 5; i++) set(8, i, bit(i))
    set(8, 7, bit(6))
    set(8, 8, bit(7))
    set(7, 8, bit(8))
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i))
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i))
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i))
    set(8, size - 8, true)
  }
  drawFormat(0) // reserves the format areas; drawn again with the chosen mask
  if (version >= 7) {
    let rem = version
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25)
    const v = (version << 12) | rem
    for (let i = 0; i < 18; i++) {
      const dark = ((v >>> i) & 1) !== 0
      const a = size - 11 + (i % 3)
      const b = Math.floor(i / 3)
      set(a, b, dark)
      set(b, a, dark)
    }
  }

  // Data in the zigzag, two columns at a time from the right, skipping the vertical timing column.
  const codewords = interleave(version, data)
  let i = 0
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5
    for (let vert = 0; vert < size; vert++)
      for (let j = 0; j < 2; j++) {
        const x = right - j
        const upward = ((right + 1) & 2) === 0
        const y = upward ? size - 1 - vert : vert
        if (!fixed[y]![x] && i < codewords.length * 8) {
          modules[y]![x] = ((codewords[i >>> 3]! >>> (7 - (i & 7))) & 1) !== 0
          i++
        }
      }
  }

  const masks: Array<(x: number, y: number) => boolean> = [
    (x, y) => (x + y) % 2 === 0,
    (_x, y) => y % 2 === 0,
    (x) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
  ]
  const applyMask = (m: number) => {
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) if (!fixed[y]![x] && masks[m]!(x, y)) modules[y]![x] = !modules[y]![x]
  }
  let best = 0
  let bestPenalty = Number.POSITIVE_INFINITY
  for (let m = 0; m < 8; m++) {
    applyMask(m)
    drawFormat(m)
    const p = penalty(modules)
    if (p < bestPenalty) {
      best = m
      bestPenalty = p
    }
    applyMask(m) // XOR again: undone
  }
  applyMask(best)
  drawFormat(best)
  return { version, size, mask: best, dark: (x, y) => modules[y]?.[x] === true }
}

/** The standard's penalty score: runs, 2×2 blocks, finder-like patterns, dark/light balance. */
function penalty(m: boolean[][]): number {
  const size = m.length
  let score = 0
  const lines = (get: (a: number, b: number) => boolean) => {
    for (let a = 0; a < size; a++) {
      let run = 1
      const seq: boolean[] = []
      for (let b = 0; b < size; b++) {
        const c = get(a, b)
        seq.push(c)
        if (b > 0 && c === get(a, b - 1)) {
          run++
          if (run === 5) score += 3
          else if (run > 5) score++
        } else run = 1
      }
      // 1:1:3:1:1 dark-light pattern with 4 light modules on either side (light outside the code counts).
      const at = (k: number) => (k < 0 || k >= size ? false : seq[k]!)
      for (let b = -4; b < size; b++) {
        const core = at(b) && !at(b + 1) && at(b + 2) && at(b + 3) && at(b + 4) && !at(b + 5) && at(b + 6)
        if (!core) continue
        const lightBefore = [1, 2, 3, 4].every((k) => !at(b - k))
        const lightAfter = [7, 8, 9, 10].every((k) => !at(b + k))
        if (lightBefore || lightAfter) score += 40
      }
    }
  }
  lines((y, x) => m[y]![x]!)
  lines((x, y) => m[y]![x]!)
  let dark = 0
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      if (m[y]![x]) dark++
      if (x < size - 1 && y < size - 1) {
        const c = m[y]![x]
        if (c === m[y]![x + 1] && c === m[y + 1]![x] && c === m[y + 1]![x + 1]) score += 3
      }
    }
  const k = Math.ceil(Math.abs(dark * 20 - size * size * 10) / (size * size)) - 1
  return score + Math.max(0, k) * 10
}

/** The dark modules as one SVG path (1 unit per module), for a `viewBox` of `size + 8` with the quiet zone. */
export function qrPath(qr: QrCode): string {
  const parts: string[] = []
  for (let y = 0; y < qr.size; y++)
    for (let x = 0; x < qr.size; x++) if (qr.dark(x, y)) parts.push(`M${x + 4} ${y + 4}h1v1h-1z`)
  return parts.join('')
}
