/**
 * The console's QR encoder (the MFA setup page's code): a known answer for a version-1 code, and the
 * standard's format and version information read back from larger codes (values from the ISO/IEC 18004
 * tables, not from the encoder).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeQr, type QrCode, qrPath } from '../src/lib/qr.ts'

const rows = (q: QrCode) =>
  Array.from({ length: q.size }, (_, y) =>
    Array.from({ length: q.size }, (_, x) => (q.dark(x, y) ? '#' : '.')).join(''),
  )

/** Level M's 15 format bits for each mask (the standard's table). */
const FORMAT_M = [
  '101010000010010',
  '101000100100101',
  '101111001111100',
  '101101101001011',
  '100010111111001',
  '100000011001110',
  '100111110010111',
  '100101010100000',
]

/** Both copies of the format bits, most significant first. */
function formatBits(q: QrCode): [string, string] {
  const bit = (x: number, y: number) => (q.dark(x, y) ? '1' : '0')
  const first: string[] = []
  const second: string[] = []
  // Bit i of the first copy: (8, 0..5), (8, 7), (8, 8), (7, 8), then (14 - i, 8) for i = 9..14.
  const firstAt = (i: number): [number, number] =>
    i <= 5 ? [8, i] : i === 6 ? [8, 7] : i === 7 ? [8, 8] : i === 8 ? [7, 8] : [14 - i, 8]
  const secondAt = (i: number): [number, number] => (i < 8 ? [q.size - 1 - i, 8] : [8, q.size - 15 + i])
  for (let i = 14; i >= 0; i--) {
    first.push(bit(...firstAt(i)))
    second.push(bit(...secondAt(i)))
  }
  return [first.join(''), second.join('')]
}

test('"hello" is the known version-1 level-M code', () => {
  const q = encodeQr('hello')
  assert.deepEqual([q.version, q.size], [1, 21])
  assert.deepEqual(rows(q), [
    '#######..##...#######',
    '#.....#..##...#.....#',
    '#.###.#..#..#.#.###.#',
    '#.###.#...##..#.###.#',
    '#.###.#..##.#.#.###.#',
    '#.....#.#..##.#.....#',
    '#######.#.#.#.#######',
    '...........##........',
    '#..#.##.##...#.#.....',
    '..#.##....#...#....##',
    '...##.####..##...##.#',
    '###.##..#..#.....#.##',
    '.##.#.##..#.#.#.#....',
    '........##.#...##.#.#',
    '#######...#..#.#.###.',
    '#.....#.#.####.##....',
    '#.###.#....#..###...#',
    '#.###.#.##.#...#.####',
    '#.###.#..##.#...#.#.#',
    '#.....#..##..##......',
    '#######.#####..#.#.#.',
  ])
})

test('an otpauth URI: format bits match the standard table for the chosen mask, in both copies', () => {
  const uri =
    'otpauth://totp/Heatmap%20platform:someone%40example.com?issuer=Heatmap%20platform&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30'
  const q = encodeQr(uri)
  // 155 bytes at level M: version 9 (version 8 holds 152).
  assert.equal(q.version, 9)
  assert.equal(q.size, 53)
  const [a, b] = formatBits(q)
  assert.equal(a, FORMAT_M[q.mask])
  assert.equal(b, FORMAT_M[q.mask])
  // The dark module beside the lower-left finder, always there.
  assert.ok(q.dark(8, q.size - 8))
})

test('version 7 and up carry version information: 0x07C94 for version 7 (the standard table)', () => {
  const q = encodeQr('x'.repeat(110))
  assert.equal(q.version, 7)
  let bits = 0
  for (let i = 17; i >= 0; i--)
    bits = (bits << 1) | (q.dark(q.size - 11 + (i % 3), Math.floor(i / 3)) ? 1 : 0)
  assert.equal(bits, 0x07c94)
  let mirrored = 0
  for (let i = 17; i >= 0; i--)
    mirrored = (mirrored << 1) | (q.dark(Math.floor(i / 3), q.size - 11 + (i % 3)) ? 1 : 0)
  assert.equal(mirrored, 0x07c94)
})

test('the SVG path draws exactly the dark modules, inside a 4-module quiet zone', () => {
  const q = encodeQr('hello')
  const squares = qrPath(q).match(/M\d+ \d+h1v1h-1z/g) ?? []
  assert.equal(squares.length, rows(q).join('').split('#').length - 1)
  for (const s of squares) {
    const [x, y] = s.slice(1).split(/[ h]/).map(Number) as [number, number]
    assert.ok(q.dark(x - 4, y - 4))
  }
})
