/** The state of a stream the console keeps open (a page's live map, the runtime dashboard), as it shows it. */
export type StreamStatus =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'reconnecting'; inMs: number }
  | { state: 'refused'; code: string; message: string }
