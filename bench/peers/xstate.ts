/** Peer: the counter workload on XState v5 actors (`createActor`), in-thread, one `send` per message. */
import type { Packr } from 'msgpackr'
import { assign, createActor, setup } from 'xstate'

const machine = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'add'; n: number } },
}).createMachine({
  context: { n: 0 },
  on: { add: { actions: assign({ n: ({ context, event }) => context.n + event.n }) } },
})

/** Messages/s over stream messages of envelopes `[type, key, value]`; throws if the counters miss any. */
export function xstatePeer(
  payloads: Iterable<readonly Uint8Array[]>,
  messages: number,
  packr: Packr,
): number {
  const t0 = performance.now()
  const actors = new Map<string, ReturnType<typeof createActor<typeof machine>>>()
  for (const list of payloads) {
    for (const p of list) {
      for (const [, key, m] of packr.unpack(p) as Array<[string, string, number]>) {
        let a = actors.get(key)
        if (a === undefined) {
          a = createActor(machine).start()
          actors.set(key, a)
        }
        a.send({ type: 'add', n: m })
      }
    }
  }
  const ms = performance.now() - t0
  let counted = 0
  for (const a of actors.values()) {
    counted += a.getSnapshot().context.n
    a.stop()
  }
  if (counted !== messages) throw new Error(`XState peer counted ${counted} of ${messages} messages`)
  return (messages / ms) * 1000
}
