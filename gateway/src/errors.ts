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
  HM_ERR_INGEST_UNAVAILABLE: {
    status: 503,
    message:
      'the event stream did not confirm the batch (unreachable or restarting); retry it with the same batchId',
  },
  // Authentication
  HM_ERR_AUTH_MISSING: { status: 401, message: 'send Authorization: Bearer <access token or api key>' },
  HM_ERR_AUTH_BAD_KEY: { status: 401, message: 'the API key is unknown or revoked' },
  HM_ERR_AUTH_BAD_TOKEN: { status: 401, message: 'the access token is not valid' },
  HM_ERR_AUTH_EXPIRED: { status: 401, message: 'the access token has expired; refresh it' },
  HM_ERR_AUTH_REVOKED: {
    status: 401,
    message: 'the access token was revoked (logout, role change or reuse)',
  },
  HM_ERR_AUTH_BAD_REFRESH: { status: 401, message: 'the refresh token is unknown, revoked or expired' },
  HM_ERR_AUTH_REFRESH_REUSED: {
    status: 401,
    message: 'the refresh token was already used; every token of its sign-in is revoked',
  },
  HM_ERR_AUTH_BAD_CREDENTIALS: { status: 401, message: 'wrong email or password' },
  HM_ERR_AUTH_MFA_REQUIRED: { status: 401, message: 'this account needs its one-time code (totp)' },
  HM_ERR_AUTH_BAD_MFA: { status: 401, message: 'the one-time code is wrong or already used' },
  HM_ERR_AUTH_LOCKED: { status: 429, message: 'too many failed sign-ins; the account is locked for a while' },
  HM_ERR_AUTH_THROTTLED: { status: 429, message: 'too many sign-in attempts from this address' },
  HM_ERR_AUTH_NOT_MEMBER: { status: 403, message: 'you are not a member of this organisation' },
  HM_ERR_AUTH_FORBIDDEN: { status: 403, message: 'your role or key does not allow this' },
  HM_ERR_AUTH_BAD_RESET: { status: 400, message: 'the password reset token is unknown, used or expired' },
  // Accounts, websites, members, privacy
  HM_ERR_ACCOUNT_BAD_REQUEST: { status: 400, message: 'the request is invalid' },
  HM_ERR_ACCOUNT_WEAK_PASSWORD: { status: 400, message: 'the password is too short or too long' },
  HM_ERR_ACCOUNT_EMAIL_TAKEN: { status: 409, message: 'an account with this email exists' },
  HM_ERR_ACCOUNT_NOT_FOUND: { status: 404, message: 'no such resource in your organisation' },
  HM_ERR_ACCOUNT_ROLE_DENIED: { status: 403, message: 'your role cannot manage this role' },
  HM_ERR_ACCOUNT_CONFLICT: { status: 409, message: 'the change conflicts with the current state' },
  HM_ERR_ACCOUNT_BAD_INVITATION: {
    status: 400,
    message: 'the invitation is unknown, used, revoked or expired',
  },
  // Queries
  HM_ERR_QUERY_BAD_PARAM: { status: 400, message: 'a query parameter is invalid' },
  HM_ERR_QUERY_NOT_FOUND: { status: 404, message: 'no such website in your organisation' },
  HM_ERR_QUERY_BAD_RANGE: { status: 400, message: 'the date range is inverted or too long' },
  HM_ERR_QUERY_BAD_RESOLUTION: { status: 400, message: 'the resolution or image size is out of bounds' },
  HM_ERR_QUERY_UNKNOWN_PAGE: { status: 404, message: 'this website has recorded nothing for the page' },
  HM_ERR_QUERY_UNKNOWN_SESSION: { status: 404, message: 'this website has no such session' },
  // Pages behind heatmaps (frame check, screenshots)
  HM_ERR_PAGE_OFF_SITE: {
    status: 400,
    message: "the URL is not on the website's domain or one of its allowed origins",
  },
  HM_ERR_PAGE_PRIVATE_ADDRESS: {
    status: 403,
    message: 'the page is on a private or loopback address, which this gateway does not fetch',
  },
  HM_ERR_PAGE_UNREACHABLE: {
    status: 502,
    message: 'the page could not be loaded (name, connection, timeout or an error status)',
  },
  HM_ERR_SCREENSHOT_UNAVAILABLE: {
    status: 503,
    message: 'screenshots are off or no Chromium can be started on this gateway',
  },
  HM_ERR_SCREENSHOT_BUSY: { status: 503, message: 'too many screenshots are being taken; retry shortly' },
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
