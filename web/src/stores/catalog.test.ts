import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as fx from '@/test/fixtures'
import { mockFetch } from '@/test/fetch'
import { useCatalogStore } from './catalog'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

describe('catalog', () => {
  it('lists models in sort_order with the version they came from', async () => {
    mockFetch({
      'GET /api/models': { body: fx.models(4) },
      'GET /api/image-gen': { body: fx.imageGen(4) },
    })
    const c = useCatalogStore()
    await c.load()
    expect(c.models.map((m) => m.name)).toEqual([
      'flux1-dev',
      'sdxl-base',
      'missing',
    ])
    expect(c.availableModels.map((m) => m.name)).toEqual([
      'flux1-dev',
      'sdxl-base',
    ])
    expect([c.loadedVersion, c.loadedSource, c.revision]).toEqual([
      4,
      'backend',
      1,
    ])
  })

  it('reads the lists again only when version or source change', async () => {
    let version = 1
    let source = 'backend'
    const { calls } = mockFetch({
      'GET /api/models': () => ({ body: fx.models(version) }),
      'GET /api/image-gen': () => ({ body: fx.imageGen(version) }),
      'GET /api/loras': (call) => ({
        body: fx.loras(
          new URL(call.url, 'http://x').searchParams.get('model') ?? '',
          version,
        ),
      }),
      'GET /api/config/status': () => ({ body: fx.status(version, source) }),
    })
    const c = useCatalogStore()
    await c.load()
    await c.loadLoras('flux1-dev')
    const count = () => calls.filter((x) => x.url === '/api/models').length

    expect(await c.checkStatus()).toBe(false)
    expect(count()).toBe(1)

    version = 2
    expect(await c.checkStatus()).toBe(true)
    expect(count()).toBe(2)
    expect(c.loadedVersion).toBe(2)
    expect(c.lorasVersion).toBe(2)

    source = 'cache'
    expect(await c.checkStatus()).toBe(true)
    expect(count()).toBe(3)
  })

  it('keeps the lists and reports when the status cannot be read', async () => {
    mockFetch({
      'GET /api/models': { body: fx.models(1) },
      'GET /api/image-gen': { body: fx.imageGen(1) },
      'GET /api/config/status': { status: 503, text: 'down' },
    })
    const c = useCatalogStore()
    await c.load()
    expect(await c.checkStatus()).toBe(false)
    expect(c.statusError).not.toBe('')
    expect(c.models).toHaveLength(3)
  })

  it('drops a LoRA answer that a newer request overtook', async () => {
    let release: () => void = () => undefined
    const slow = new Promise<void>((r) => (release = r))
    mockFetch({
      'GET /api/loras': async (call) => {
        const model =
          new URL(call.url, 'http://x').searchParams.get('model') ?? ''
        if (model === 'flux1-dev') await slow
        return { body: fx.loras(model) }
      },
    })
    const c = useCatalogStore()
    const first = c.loadLoras('flux1-dev')
    await c.loadLoras('sdxl-base')
    release()
    await first
    expect(c.lorasModel).toBe('sdxl-base')
    expect(c.loras).toEqual([])
  })

  it('reads the health and the lists again when ComfyUI comes or goes', async () => {
    let up = true
    const { calls } = mockFetch({
      'GET /api/models': () => ({ body: fx.models(1) }),
      'GET /api/image-gen': () => ({ body: fx.imageGen(1) }),
      'GET /api/config/status': () => ({ body: fx.status(1) }),
      'GET /api/health': () => ({ body: fx.health(up) }),
    })
    const c = useCatalogStore()
    await c.load()
    const count = () => calls.filter((x) => x.url === '/api/models').length

    expect(await c.checkStatus()).toBe(false)
    expect(c.health?.status).toBe('healthy')
    expect(await c.checkStatus()).toBe(false)
    expect(count()).toBe(1)

    up = false
    expect(await c.checkStatus()).toBe(true)
    expect(c.health?.status).toBe('degraded')
    expect(c.health?.comfyui?.[0]?.up).toBe(false)
    expect(count()).toBe(2)
    expect(await c.checkStatus()).toBe(false)

    up = true
    expect(await c.checkStatus()).toBe(true)
    expect(count()).toBe(3)
  })

  it('takes a 503 health answer as unavailable', async () => {
    mockFetch({
      'GET /api/config/status': { body: fx.status(0, 'none') },
      'GET /api/health': {
        status: 503,
        body: { status: 'unavailable', comfyui: [] },
      },
    })
    const c = useCatalogStore()
    await c.checkStatus()
    expect(c.health?.status).toBe('unavailable')
  })
})
