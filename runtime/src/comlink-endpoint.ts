import type { MessagePort } from 'node:worker_threads'
import type { Endpoint } from 'comlink'

/** Node's MessagePort is an EventTarget with `postMessage`: the endpoint comlink expects. */
export function asEndpoint(port: MessagePort): Endpoint {
  return port as unknown as Endpoint
}
