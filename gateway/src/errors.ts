/**
 * The gateway's error registry: every code a client can see, its HTTP status and meaning. Codes are
 * grouped by section and never reused; `test/errors.test.ts` checks they are unique and documented.
 */
export const gatewayErrors = {
  // Ingestion
  HM_ERR_INGEST_BAD_BATCH: { status: 400, message: 'the batch does not match the ingest schema' },
  HM_ERR_INGEST_BAD_JSON: { status: 400, message: 'the body is not valid JSON' },
  HM_ERR_INGEST_TOO_LARGE: { status: 413, message: 'the body is larger than the ingest limit' },
  HM_ERR_INGEST_UNKNOWN_SITE: { status: 404, message: 'no website has this site key' },
  HM_ERR_INGEST_ORIGIN_DENIED: { status: 403, message: 'the Origin is not allowed for this website' },
  HM_ERR_INGEST_BUSY: { status: 429, message: 'the platform is holding as much unprocessed data as it may' },
  HM_ERR_INGEST_UNSUPPORTED_TYPE: { status: 415, message: 'send application/json or text/plain' },
  HM_ERR_INGEST_NO_SITE_KEY: { status: 401, message: "send the website's site key as siteKey" },
  HM_ERR_INGEST_RATE_LIMITED: { status: 429, message: 'over the request limit of this client or website' },
  // Authentication
  HM_ERR_AUTH_MISSING: { status: 401, message: 'send Authorization: Bearer <api key>' },
  HM_ERR_AUTH_BAD_KEY: { status: 401, message: 'the API key is unknown or revoked' },
  // Queries
  HM_ERR_QUERY_BAD_PARAM: { status: 400, message: 'a query parameter is invalid' },
  HM_ERR_QUERY_NOT_FOUND: { status: 404, message: 'no such website in your organisation' },
  HM_ERR_QUERY_BAD_RANGE: { status: 400, message: 'the date range is inverted or too long' },
  HM_ERR_QUERY_BAD_RESOLUTION: { status: 400, message: 'the resolution or image size is out of bounds' },
  HM_ERR_QUERY_UNKNOWN_PAGE: { status: 404, message: 'this website has recorded nothing for the page' },
  HM_ERR_QUERY_UNKNOWN_SESSION: { status: 404, message: 'this website has no such session' },
  // General
  HM_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  HM_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>

export type GatewayErrorCode = keyof typeof gatewayErrors

/** An error a client may see: its code, status and a message naming what was wrong. */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode
  readonly statusCode: number
  readonly retryAfterS: number | undefined
  constructor(code: GatewayErrorCode, detail?: string, retryAfterS?: number) {
    super(detail ? `${gatewayErrors[code].message}: ${detail}` : gatewayErrors[code].message)
    this.code = code
    this.statusCode = gatewayErrors[code].status
    this.retryAfterS = retryAfterS
  }
}

/** The one error body format of every API. */
export interface ErrorBody {
  error: { code: GatewayErrorCode; message: string }
}
