export type { ActorContext, ActorLogic, Envelope } from './actor.ts'
export { defineActor } from './actor.ts'
export {
  ClickHouseRuntimeStore,
  DEDUPLICATION_WINDOW,
  insertOnce,
  onceSettings,
} from './clickhouse-store.ts'
export { type Clock, systemClock } from './clock.ts'
export { ClusterClient, type ClusterClientOptions } from './cluster/cluster-client.ts'
export { ClusterMember, type ClusterMemberOptions } from './cluster/cluster-member.ts'
export {
  ClusterNode,
  type ClusterNodeOptions,
  type ClusterStatus,
  connectCluster,
} from './cluster/cluster-node.ts'
export { LeaseFence } from './cluster/lease-fence.ts'
export {
  gatherNodeStats,
  type NodeStats,
  type NodeTypeStats,
  type NodeWorkerStats,
  nodeStats,
  serveNodeStats,
} from './cluster/node-stats.ts'
export { type OwnershipEvent, ownershipLog } from './cluster/ownership-log.ts'
export { placeShards, rendezvousOwner } from './cluster/rendezvous.ts'
export type { ReleaseReason, ShardLease } from './cluster/shard-lease.ts'
export { type DrainEncoder, decodeDrained, encodeDrained } from './drained.ts'
export { decodeEnvelopes, encodeEnvelopes } from './envelopes.ts'
export { RuntimeError, type RuntimeErrorCode, runtimeErrors } from './errors.ts'
export { type FileJournalOptions, FileJournalStore } from './file-journal.ts'
export type {
  FlushBatch,
  FlushSink,
  RuntimeHostOptions,
  RuntimeMetrics,
  RuntimeStats,
  Watch,
} from './host/main.ts'
export { RuntimeHost } from './host/main.ts'
export { defaultThreads } from './host/options.ts'
export type { ActorInfo, DeadLetter, WorkerStats } from './host/types.ts'
export { createWorkerHandler, type WorkerHandlerOptions } from './host/worker.ts'
export {
  type ActorKey,
  actorKey,
  type Brand,
  fnv1a,
  type ShardId,
  type StreamSeq,
  shardId,
  shardOf,
  streamSeq,
} from './ids.ts'
export { InProcessTransport, type InProcessTransportOptions } from './in-process-transport.ts'
export { JetStreamTransport, type JetStreamTransportOptions } from './jetstream-transport.ts'
export { packedMap } from './packed.ts'
export { settleAll } from './settle.ts'
export {
  type ActorRef,
  type DeadLetterRecord,
  type FlushRecord,
  MemoryRuntimeStore,
  type ReminderRecord,
  type RuntimeChanges,
  type RuntimeStore,
  type SaveToken,
  type SnapshotRecord,
} from './store.ts'
export type { Delivery, PublishAck, ShardConsumer, Transport } from './transport.ts'
