import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { roleAtLeast } from '@/api/auth'
import { mockFetch } from '@/test/fetch'
import { useSessionStore } from './session'

beforeEach(() => {
  setActivePinia(createPinia())
  localStorage.clear()
})
afterEach(() => vi.unstubAllGlobals())

describe('session', () => {
  it('does not ask the server when this browser never signed in', async () => {
    const { calls } = mockFetch({})
    const s = useSessionStore()
    await s.init()
    expect(calls).toEqual([])
    expect(s.signedIn).toBe(false)
    expect(s.ready).toBe(true)
  })

  it('signs in, remembers it, and reads the role next time', async () => {
    mockFetch({
      'POST /api/admin/login': {
        body: { name: 'ann', role: 'editor', expires_at: '' },
      },
      'GET /api/admin/me': { body: { name: 'ann', role: 'editor' } },
    })
    const s = useSessionStore()
    await s.login('ann', 'secret')
    expect(s.can('editor')).toBe(true)
    expect(s.can('publisher')).toBe(false)

    setActivePinia(createPinia())
    const again = useSessionStore()
    await again.init()
    expect(again.me?.name).toBe('ann')
  })

  it('forgets a session the server no longer knows', async () => {
    localStorage.setItem('atelier.admin.signedIn', '1')
    mockFetch({
      'GET /api/admin/me': {
        status: 401,
        body: { error: { code: 'unauthorized', message: 'sign in' } },
      },
    })
    const s = useSessionStore()
    await s.init()
    expect(s.signedIn).toBe(false)
    expect(localStorage.getItem('atelier.admin.signedIn')).toBe(null)
  })
})

describe('roleAtLeast', () => {
  it.each([
    ['viewer', 'viewer', true],
    ['viewer', 'editor', false],
    ['publisher', 'editor', true],
    ['admin', 'publisher', true],
    ['editor', 'admin', false],
    [undefined, 'viewer', false],
  ] as const)('%s ≥ %s is %s', (role, min, want) => {
    expect(roleAtLeast(role, min)).toBe(want)
  })
})
