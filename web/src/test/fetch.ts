// A fake fetch for unit tests: answers by "METHOD /path" (query ignored
// unless the key has one) and records every call.
import { vi } from 'vitest'

export interface Reply {
  status?: number
  body?: unknown
  /** Sent as is instead of JSON. */
  text?: string
  headers?: Record<string, string>
}

export interface Call {
  method: string
  url: string
  headers: Record<string, string>
  body: string | undefined
}

export type Route = Reply | ((call: Call) => Reply | Promise<Reply>)

export function mockFetch(routes: Record<string, Route>) {
  const calls: Call[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    const method = init?.method ?? 'GET'
    const call: Call = {
      method,
      url,
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: typeof init?.body === 'string' ? init.body : undefined,
    }
    calls.push(call)
    const path = url.split('?')[0]
    const route = routes[`${method} ${url}`] ?? routes[`${method} ${path}`]
    if (!route) {
      return new Response(
        JSON.stringify({ error: { code: 'not_found', message: url } }),
        { status: 404 },
      )
    }
    const r = typeof route === 'function' ? await route(call) : route
    const status = r.status ?? 200
    const text =
      r.text ?? (r.body === undefined ? null : JSON.stringify(r.body))
    return new Response(status === 204 ? null : text, {
      status,
      headers: { 'Content-Type': 'application/json', ...r.headers },
    })
  })
  vi.stubGlobal('fetch', fn)
  return { calls, fn }
}
