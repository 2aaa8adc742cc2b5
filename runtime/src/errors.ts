/**
 * The runtime's error registry. Codes are never reused; `test/errors.test.ts` checks they are unique
 * and documented here.
 */
export const runtimeErrors = {
  // Transport
  RT_ERR_TRANSPORT_FULL: 'the transport holds as many unacknowledged bytes as it may; retry later',
  RT_ERR_TRANSPORT_CLOSED: 'the transport is closed',
  RT_ERR_TRANSPORT_UNAVAILABLE:
    'the transport did not confirm the publish (its server unreachable or restarting); it may or may not be stored: retry with the same id',
  RT_ERR_TRANSPORT_CORRUPT_LOG: 'a transport log segment is corrupt',
  RT_ERR_TRANSPORT_STREAM_MISMATCH:
    'the JetStream stream exists with other subjects or retention than this transport needs',
  // Store
  RT_ERR_JOURNAL_CORRUPT: 'a segment of the flush journal is corrupt',
  // Cluster
  RT_ERR_CLUSTER_LEASE_MISMATCH:
    "the cluster's KV buckets expire entries after another lease time than this node's",
  RT_ERR_CLUSTER_LEASE_LOST: "this node no longer holds the shard's lease; the write was refused",
  // Hosting
  RT_ERR_HOST_STOPPED: 'the runtime host is stopped',
  RT_ERR_ACTOR_UNKNOWN_TYPE: 'no actor type of this name is registered',
  RT_ERR_ACTOR_NO_ASK: 'this actor type answers no questions (it has no ask handler)',
  RT_ERR_ASK_TIMEOUT: 'the actor did not answer in time',
  // Configuration
  RT_ERR_BAD_OPTION: 'a runtime option is out of range',
} as const

export type RuntimeErrorCode = keyof typeof runtimeErrors

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode
  constructor(code: RuntimeErrorCode, detail?: string) {
    super(detail ? `${runtimeErrors[code]}: ${detail}` : runtimeErrors[code])
    this.name = 'RuntimeError'
    this.code = code
  }
}
