import { createWorkerHandler } from '@hm/runtime'
import { pageActor } from './page-actor.ts'
import { sessionActor } from './session-actor.ts'

/** The worker thread of the heatmap runtime: hosts every domain actor type. */
export default createWorkerHandler([pageActor, sessionActor])
