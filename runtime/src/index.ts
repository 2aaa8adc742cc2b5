export type { ActorContext, ActorLogic, Envelope } from './actor.ts'
export { defineActor } from './actor.ts'
export { type Clock, systemClock } from './clock.ts'
export { encodeEnvelopes } from './envelopes.ts'
export { RuntimeError, type RuntimeErrorCode, runtimeErrors } from './errors.ts'
export type { FlushBatch, FlushSink, RuntimeHostOptions, RuntimeStats } from './host/main.ts'
export { RuntimeHost } from './host/main.ts'
export type { DeadLetter } from './host/types.ts'
export { createWorkerHandler } from './host/worker.ts'
export {
  type ActorKey,
  actorKey,
  type Brand,
  type ShardId,
  type StreamSeq,
  shardId,
  shardOf,
  streamSeq,
} from './ids.ts'
export { InProcessTransport, type InProcessTransportOptions } from './in-process-transport.ts'
export type { Delivery, PublishAck, ShardConsumer, Transport } from './transport.ts'
