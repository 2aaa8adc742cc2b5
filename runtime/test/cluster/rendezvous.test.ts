import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { placeShards, rendezvousOwner, shardId } from '../../src/index.ts'

const S = 64
const ids = (n: number): string[] => Array.from({ length: n }, () => `node-${randomBytes(4).toString('hex')}`)

test('every node computes the same owner whatever the order it lists the members in', () => {
  const members = ids(5)
  const reversed = [...members].reverse()
  for (let s = 0; s < S; s++) {
    const owner = rendezvousOwner(shardId(s), members)
    assert.ok(owner !== undefined && members.includes(owner))
    assert.equal(rendezvousOwner(shardId(s), reversed), owner)
  }
  assert.equal(rendezvousOwner(shardId(0), []), undefined)
})

test('a join moves shards only to the newcomer, a leave only the leaver’s shards', () => {
  for (let trial = 0; trial < 300; trial++) {
    const members = ids(3)
    const before = placeShards(S, members)
    const newcomer = ids(1)[0]!
    const afterJoin = placeShards(S, [...members, newcomer])
    for (let s = 0; s < S; s++) if (afterJoin[s] !== before[s]) assert.equal(afterJoin[s], newcomer)
    const leaver = members[trial % 3]!
    const afterLeave = placeShards(
      S,
      members.filter((m) => m !== leaver),
    )
    for (let s = 0; s < S; s++) if (afterLeave[s] !== before[s]) assert.equal(before[s], leaver)
  }
})

test('a fourth node takes a quarter of the shards on average', () => {
  let moved = 0
  const trials = 500
  for (let t = 0; t < trials; t++) {
    const members = ids(3)
    const before = placeShards(S, members)
    const after = placeShards(S, [...members, ...ids(1)])
    for (let s = 0; s < S; s++) if (after[s] !== before[s]) moved++
  }
  // 32,000 shard placements: the standard error of the share is about 0.0024.
  const share = moved / (trials * S)
  assert.ok(Math.abs(share - 0.25) < 0.02, `share moved ${share}`)
})
