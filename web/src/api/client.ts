// The one request client every API module uses. It speaks the services'
// conventions: JSON bodies, real HTTP status codes, and errors shaped as
// {"error": {"code", "message", "details", "request_id"}}.

/** A failed request: an HTTP error answer, or no answer at all (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown
  readonly requestId: string | undefined
  readonly headers: Headers | undefined

  constructor(
    status: number,
    code: string,
    message: string,
    details?: unknown,
    requestId?: string,
    headers?: Headers,
  ) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
    this.requestId = requestId
    this.headers = headers
  }
}

export type Query = Record<string, string | number | boolean | undefined>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  query?: Query
  /** Sent as JSON unless it is a string, Blob or FormData. */
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** A decoded answer with what the headers said about it. */
export interface Answer<T> {
  data: T
  status: number
  etag: string | undefined
}

type UnauthorizedHandler = (err: ApiError) => void

let onUnauthorized: UnauthorizedHandler | undefined

/**
 * setUnauthorizedHandler registers what to do when a request answers 401
 * (the admin console shows its sign-in page).
 */
export function setUnauthorizedHandler(h: UnauthorizedHandler | undefined) {
  onUnauthorized = h
}

/** withQuery appends the defined query parameters to path. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') params.set(k, String(v))
  }
  const s = params.toString()
  if (!s) return path
  return path + (path.includes('?') ? '&' : '?') + s
}

function encodeBody(
  body: unknown,
  headers: Record<string, string>,
): BodyInit | undefined {
  if (body === undefined) return undefined
  if (
    typeof body === 'string' ||
    body instanceof Blob ||
    body instanceof FormData
  ) {
    return body
  }
  headers['Content-Type'] = 'application/json'
  return JSON.stringify(body)
}

interface ErrorBody {
  error?: {
    code?: unknown
    message?: unknown
    details?: unknown
    request_id?: unknown
  }
}

async function toError(res: Response): Promise<ApiError> {
  let body: ErrorBody | undefined
  try {
    body = (await res.json()) as ErrorBody
  } catch {
    body = undefined
  }
  const e = body?.error
  const code = typeof e?.code === 'string' ? e.code : `http_${res.status}`
  const message =
    typeof e?.message === 'string' && e.message
      ? e.message
      : `${res.status} ${res.statusText}`.trim()
  const requestId = typeof e?.request_id === 'string' ? e.request_id : undefined
  return new ApiError(
    res.status,
    code,
    message,
    e?.details,
    requestId,
    res.headers,
  )
}

/** requestFull sends one request and returns the decoded answer. */
export async function requestFull<T>(
  path: string,
  opts: RequestOptions = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...opts.headers,
  }
  const init: RequestInit = {
    method: opts.method ?? 'GET',
    headers,
    credentials: 'same-origin',
  }
  const body = encodeBody(opts.body, headers)
  if (body !== undefined) init.body = body
  if (opts.signal) init.signal = opts.signal
  let res: Response
  try {
    res = await fetch(withQuery(path, opts.query), init)
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network', String(err))
  }
  if (!res.ok) {
    const err = await toError(res)
    if (res.status === 401 && onUnauthorized) onUnauthorized(err)
    throw err
  }
  const etag = res.headers.get('ETag') ?? undefined
  if (res.status === 204) {
    return { data: undefined as T, status: res.status, etag }
  }
  const text = await res.text()
  let data: T
  try {
    data = (text ? parseJSON<T>(text) : undefined) as T
  } catch {
    throw new ApiError(
      res.status,
      'bad_response',
      'the server answered with something that is not JSON',
    )
  }
  return { data, status: res.status, etag }
}

/** request sends one request and returns its decoded JSON body. */
export async function request<T>(
  path: string,
  opts: RequestOptions = {},
): Promise<T> {
  return (await requestFull<T>(path, opts)).data
}

interface ReviverContext {
  source?: string
}

type RawJSONFn = (text: string) => unknown
const rawJSON = (JSON as unknown as { rawJSON?: RawJSONFn }).rawJSON

/**
 * keepNumberText is a JSON.parse reviver that keeps the text of numbers a
 * JavaScript number would change (1.0, 3.50, integers past 2^53) as
 * JSON.rawJSON values, which JSON.stringify writes back as they came.
 * Workflow graphs are stored byte-exact, so a console edit elsewhere in
 * the draft must not rewrite them. Where the engine lacks source text
 * access the value is used as parsed.
 */
function keepNumberText(
  this: unknown,
  _key: string,
  value: unknown,
  context?: ReviverContext,
): unknown {
  if (
    typeof value === 'number' &&
    rawJSON &&
    context?.source !== undefined &&
    context.source !== String(value)
  ) {
    return rawJSON(context.source)
  }
  return value
}

/** parseJSON parses JSON keeping the text of numbers (see keepNumberText). */
export function parseJSON<T>(text: string): T {
  return JSON.parse(
    text,
    keepNumberText as (this: unknown, k: string, v: unknown) => unknown,
  ) as T
}

/** cloneJSON deep-copies a JSON value, numbers' text included. */
export function cloneJSON<T>(v: T): T {
  return parseJSON<T>(JSON.stringify(v))
}

/** isApiError tells an ApiError, optionally with the given status. */
export function isApiError(err: unknown, status?: number): err is ApiError {
  return (
    err instanceof ApiError && (status === undefined || err.status === status)
  )
}

/** errorMessage is a short text for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
