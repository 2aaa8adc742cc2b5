export { type ClickHouseOptions, openClickHouse } from './clickhouse/client.ts'
export { migrateClickHouse } from './clickhouse/migrations.ts'
export { type HeatmapCells, HeatmapQueries, type HeatmapQuery } from './clickhouse/queries.ts'
export { ClickHouseSink } from './clickhouse/sink.ts'
export {
  cellX,
  cellY,
  type HeatmapType,
  heatmapTypes,
  hourOf,
  MAX_Y_CELL,
  type ViewportClass,
  viewportClass,
  viewportClasses,
  X_CELLS,
  Y_BAND_PX,
} from './grid.ts'
export {
  type CellRow,
  PAGE_ACTOR,
  type PageEvent,
  type PageMessage,
  pageActor,
  pageActorKey,
} from './page-actor.ts'
export { normalizePage } from './page-url.ts'
export { type AcceptedEvent, type BatchContext, routeBatch, type ShardPayload } from './routing.ts'
export * from './wire.ts'

/** The module the runtime host loads in each worker thread. */
export const actorsWorkerFile: URL = new URL('./worker.ts', import.meta.url)
