import { afterEach, describe, expect, it, vi } from 'vitest'
import { mockFetch } from '@/test/fetch'
import {
  ApiError,
  cloneJSON,
  parseJSON,
  request,
  requestFull,
  setUnauthorizedHandler,
  withQuery,
} from './client'

afterEach(() => {
  vi.unstubAllGlobals()
  setUnauthorizedHandler(undefined)
})

describe('withQuery', () => {
  it.each([
    ['no query', '/a', undefined, '/a'],
    ['drops undefined and empty', '/a', { x: undefined, y: '' }, '/a'],
    ['encodes', '/a', { q: 'a b&c', n: 2 }, '/a?q=a+b%26c&n=2'],
    ['appends to a query', '/a?x=1', { y: true }, '/a?x=1&y=true'],
  ])('%s', (_name, path, query, want) => {
    expect(withQuery(path, query)).toBe(want)
  })
})

describe('request', () => {
  it('decodes JSON and sends JSON bodies', async () => {
    const { calls } = mockFetch({
      'POST /api/x': { status: 201, body: { ok: 1 } },
    })
    const got = await request<{ ok: number }>('/api/x', {
      method: 'POST',
      body: { a: 'b' },
      query: { v: 3 },
    })
    expect(got).toEqual({ ok: 1 })
    expect(calls[0]?.url).toBe('/api/x?v=3')
    expect(calls[0]?.body).toBe('{"a":"b"}')
    expect(calls[0]?.headers['Content-Type']).toBe('application/json')
  })

  it('sends strings as they are', async () => {
    const { calls } = mockFetch({ 'POST /api/raw': { body: {} } })
    await request('/api/raw', { method: 'POST', body: '{"1":{}}' })
    expect(calls[0]?.body).toBe('{"1":{}}')
    expect(calls[0]?.headers['Content-Type']).toBeUndefined()
  })

  it('returns undefined for 204', async () => {
    mockFetch({ 'DELETE /api/x': { status: 204 } })
    await expect(request('/api/x', { method: 'DELETE' })).resolves.toBe(
      undefined,
    )
  })

  it('reports the ETag', async () => {
    mockFetch({ 'GET /api/x': { body: {}, headers: { ETag: '"7"' } } })
    const a = await requestFull('/api/x')
    expect(a.etag).toBe('"7"')
    expect(a.status).toBe(200)
  })

  it('turns an error answer into an ApiError', async () => {
    mockFetch({
      'POST /api/generate-image': {
        status: 400,
        body: {
          error: {
            code: 'invalid_request',
            message: 'steps: too many',
            details: [{ field: 'steps', message: 'too many' }],
            request_id: 'r1',
          },
        },
      },
    })
    const err = await request('/api/generate-image', {
      method: 'POST',
      body: {},
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    const e = err as ApiError
    expect([e.status, e.code, e.message, e.requestId]).toEqual([
      400,
      'invalid_request',
      'steps: too many',
      'r1',
    ])
    expect(e.details).toEqual([{ field: 'steps', message: 'too many' }])
  })

  it('explains an error answer that is not JSON', async () => {
    mockFetch({ 'GET /api/x': { status: 502, text: '<html>bad gateway' } })
    const e = (await request('/api/x').catch((x: unknown) => x)) as ApiError
    expect(e.code).toBe('http_502')
    expect(e.status).toBe(502)
  })

  it('reports a network failure as status 0', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch')
      }),
    )
    const e = (await request('/api/x').catch((x: unknown) => x)) as ApiError
    expect([e.status, e.code]).toEqual([0, 'network'])
  })

  it('calls the unauthorized handler on 401 only', async () => {
    mockFetch({
      'GET /api/me': {
        status: 401,
        body: { error: { code: 'unauthorized', message: 'sign in' } },
      },
      'GET /api/forbidden': {
        status: 403,
        body: { error: { code: 'forbidden', message: 'no' } },
      },
    })
    const seen: string[] = []
    setUnauthorizedHandler((e) => seen.push(e.code))
    await request('/api/me').catch(() => undefined)
    await request('/api/forbidden').catch(() => undefined)
    expect(seen).toEqual(['unauthorized'])
  })
})

describe('parseJSON', () => {
  const text = '{"cfg":1.0,"seed":18446744073709551615,"n":2,"s":"x"}'

  it('round-trips number text where the engine can', () => {
    const v = parseJSON<Record<string, unknown>>(text)
    const supported = 'rawJSON' in JSON
    if (supported) {
      expect(JSON.stringify(v)).toBe(text)
      expect(JSON.stringify(cloneJSON(v))).toBe(text)
    } else {
      expect(v).toEqual(JSON.parse(text))
    }
    // Numbers that survive as numbers stay plain numbers either way.
    expect(v.n).toBe(2)
    expect(v.s).toBe('x')
  })
})
