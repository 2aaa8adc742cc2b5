export { type ClickHouseOptions, openClickHouse } from './clickhouse/client.ts'
export { coveredHours, type Scope, type Segment } from './clickhouse/filters.ts'
export { migrateClickHouse } from './clickhouse/migrations.ts'
export {
  type AttentionBands,
  type ComparePart,
  type Comparison,
  type ElementStat,
  type HeatmapCells,
  HeatmapQueries,
  type HeatmapQuery,
  RESOLUTION_LIMITS,
  type Resolution,
  resolutionOf,
} from './clickhouse/queries.ts'
export {
  checkRetentionDays,
  DEFAULT_RETENTION_DAYS,
  MAX_RETENTION_DAYS,
  RAW_EVENT_TABLES,
  RETAINED_TABLES,
  setSiteRetention,
} from './clickhouse/retention.ts'
export { EVENT_COLUMNS, encodeTableRows, readTableRows, SITE_RETENTION } from './clickhouse/rows.ts'
export { type ScrollCurve, scrollCurve } from './clickhouse/scroll-curve.ts'
export {
  type SessionListQuery,
  type SessionPage,
  SessionQueries,
  type SessionSort,
  type SessionSummary,
  sessionSorts,
  type TimelineEvent,
} from './clickhouse/session-queries.ts'
export { ClickHouseSink, type ClickHouseSinkOptions, SinkBackoffError } from './clickhouse/sink.ts'
export {
  type ExportFormat,
  exportFormats,
  exportSize,
  type HeatmapImage,
  MAX_EXPORT_CELLS,
  MAX_EXPORT_PIXELS,
  MAX_EXPORT_SIDE,
  renderHeatmapCsv,
  renderHeatmapPng,
  renderHeatmapSvg,
} from './export/render.ts'
export {
  cellX,
  cellY,
  depthBand,
  ELEMENT_OFFSET_CELLS,
  type HeatmapType,
  heatmapTypes,
  hourOf,
  MAX_Y_CELL,
  NO_OFFSET,
  offsetCell,
  type ViewportClass,
  viewportClass,
  viewportClasses,
  X_CELLS,
  Y_BAND_PX,
} from './grid.ts'
export {
  type CellRow,
  type ElementRow,
  LIVE_INTERVAL_MS,
  PAGE_ACTOR,
  PAGE_MAX_PENDING,
  type PageAskCells,
  type PageEvent,
  type PageLiveDelta,
  type PageMessage,
  type PageRecord,
  pageActor,
  pageActorKey,
  pageTopic,
} from './page-actor.ts'
export { normalizePage } from './page-url.ts'
export { PendingGrid } from './pending-grid.ts'
export {
  type AcceptedEvent,
  type BatchContext,
  type RouteOptions,
  routeBatch,
  type ShardPayload,
} from './routing.ts'
export {
  MAX_TIMELINE,
  MAX_VIEWS,
  SESSION_ACTOR,
  SESSION_IDLE_MS,
  SESSION_SUMMARY_EVERY_MS,
  type SessionAskTimeline,
  type SessionEvent,
  type SessionForget,
  type SessionMessage,
  type SessionState,
  type SessionTick,
  type SiteActivity,
  sessionActor,
  sessionActorKey,
  siteTopic,
  summaryRow,
} from './session-actor.ts'
export type {
  EventRow,
  ScrollRow,
  SessionEventRunRow,
  SessionEventsRow,
  SessionRecord,
  SessionRow,
} from './session-records.ts'
export * from './wire.ts'

/** The module the runtime host loads in each worker thread. */
export const actorsWorkerFile: URL = new URL('./worker.ts', import.meta.url)
export {
  decodePageMessage,
  decodeSessionMessage,
  encodePageMessage,
  encodeSessionMessage,
} from './message-codec.ts'
