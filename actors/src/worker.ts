import { createWorkerHandler } from '@hm/runtime'
import { encodeTableRows } from './clickhouse/rows.ts'
import { pageActor } from './page-actor.ts'
import { sessionActor } from './session-actor.ts'

/** The worker thread of the heatmap runtime: hosts every domain actor type, encodes their rows for ClickHouse. */
export default createWorkerHandler([pageActor, sessionActor], { encodeDrained: encodeTableRows })
