import { api, apiResponse } from './client'

/** `GET /v1/sites/<id>/page-view`: may the console frame the page, and can the gateway shoot it instead. */
export interface PageView {
  /** The page as a frame loads it (query string and fragment removed by the gateway). */
  url: string
  width: number
  frameable: boolean
  /** The header (or its absence) that decided. */
  reason: string
  /** The gateway can answer the screenshot route (Chromium and HM_SCREENSHOTS). */
  screenshots: boolean
  /** Document height at this width, known once a screenshot of it was taken. */
  pageHeight?: number
}

export interface Screenshot {
  blob: Blob
  /** Document height at the width, before the gateway's cut at 10,000 px. */
  pageHeight: number
  capturedAt: string
  /** The gateway could not take a new one and sent the last it had. */
  stale: boolean
}

export function getPageView(siteId: string, page: string, width: number): Promise<PageView> {
  return api<PageView>(`/v1/sites/${encodeURIComponent(siteId)}/page-view`, { query: { url: page, width } })
}

/** The page's screenshot as a blob: an `<img>` cannot send the access token, so it is fetched and shown by URL. */
export async function getScreenshot(siteId: string, url: string, width: number): Promise<Screenshot> {
  const r = await apiResponse(`/v1/sites/${encodeURIComponent(siteId)}/screenshot`, { query: { url, width } })
  return {
    blob: await r.blob(),
    pageHeight: Number(r.headers.get('x-page-height')) || 0,
    capturedAt: r.headers.get('x-captured-at') ?? '',
    stale: r.headers.get('x-screenshot') === 'stale',
  }
}
