import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import type { Model } from '@/api/models'
import * as fx from '@/test/fixtures'
import { mockFetch } from '@/test/fetch'
import { useCatalogStore } from './catalog'
import {
  maxPromptLength,
  promptLength,
  seedValid,
  useGeneratorStore,
} from './generator'

let version = 1
let modelList: Model[] | undefined
let maxSteps = 60

function serve() {
  return mockFetch({
    'GET /api/models': () => ({ body: fx.models(version, modelList) }),
    'GET /api/image-gen': () => ({ body: fx.imageGen(version, maxSteps) }),
    'GET /api/loras': (call) => ({
      body: fx.loras(
        new URL(call.url, 'http://x').searchParams.get('model') ?? '',
        version,
      ),
    }),
    'GET /api/config/status': () => ({ body: fx.status(version) }),
    'POST /api/generate-image': {
      status: 202,
      body: { job_id: 'j1', status_url: '', events_url: '', status: 'queued' },
    },
  })
}

async function ready() {
  const c = useCatalogStore()
  const g = useGeneratorStore()
  await c.load()
  await nextTick()
  await vi.waitFor(() => expect(c.lorasModel).toBe(g.form.model))
  return { c, g }
}

class FakeEventSource {
  static last: FakeEventSource | undefined
  listeners = new Map<string, (ev: MessageEvent<string>) => void>()
  onerror: (() => void) | null = null
  closed = false
  constructor(readonly url: string) {
    FakeEventSource.last = this
  }
  addEventListener(name: string, fn: (ev: MessageEvent<string>) => void) {
    this.listeners.set(name, fn)
  }
  close() {
    this.closed = true
  }
  emit(name: string, data: unknown) {
    this.listeners.get(name)?.({ data: JSON.stringify(data) } as MessageEvent)
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
  version = 1
  modelList = undefined
  maxSteps = 60
  vi.stubGlobal('EventSource', FakeEventSource)
})

afterEach(() => vi.unstubAllGlobals())

describe('generator form', () => {
  it('starts on the first available model with its defaults', async () => {
    serve()
    const { g } = await ready()
    expect(g.form.model).toBe('flux1-dev')
    expect(g.form.steps).toBe(20)
    expect(g.form.cfg).toBe(1)
    expect(g.form.guidance).toBe(3.5)
    expect(g.form.ratio).toBe('1:1')
  })

  it('takes the new model defaults when the user picks a model', async () => {
    serve()
    const { g } = await ready()
    g.toggleLora('flux/grain.safetensors', true)
    g.selectModel('sdxl-base')
    expect(g.form.steps).toBe(25)
    expect(g.form.cfg).toBe(7)
    expect(g.form.guidance).toBe(null)
    expect(g.form.loras).toEqual([])
  })

  it('keeps what the user typed across a new release', async () => {
    serve()
    const { c, g } = await ready()
    g.form.prompt = 'a cat'
    g.form.steps = 50
    g.form.ratio = '16:9'
    version = 2
    maxSteps = 40
    expect(await c.checkStatus()).toBe(true)
    await nextTick()
    expect(g.form.prompt).toBe('a cat')
    expect(g.form.model).toBe('flux1-dev')
    expect(g.form.ratio).toBe('16:9')
    // Past the new limit, brought in.
    expect(g.form.steps).toBe(40)
  })

  it('moves off a model the release took away', async () => {
    serve()
    const { c, g } = await ready()
    g.selectModel('sdxl-base')
    modelList = fx.models().models.filter((m) => m.name !== 'sdxl-base')
    version = 2
    await c.checkStatus()
    await nextTick()
    expect(g.form.model).toBe('flux1-dev')
  })

  it('adds a LoRA at its default strength and trigger words once', async () => {
    serve()
    const { g } = await ready()
    g.toggleLora('flux/grain.safetensors', true)
    expect(g.form.loras).toEqual([
      { name: 'flux/grain.safetensors', strength: 0.6 },
    ])
    g.form.prompt = 'a harbour'
    g.addTriggerWord('film grain')
    g.addTriggerWord('film grain')
    expect(g.form.prompt).toBe('a harbour, film grain')
  })

  it('builds the request the service takes', async () => {
    serve()
    const { g } = await ready()
    g.form.prompt = '  a cat  '
    g.form.seedMode = 'fixed'
    g.form.seed = '18446744073709551615'
    g.toggleLora('flux/grain.safetensors', true)
    expect(g.buildRequest()).toEqual({
      prompt: 'a cat',
      model: 'flux1-dev',
      steps: 20,
      batch_size: 1,
      ratio: '1:1',
      cfg: 1,
      guidance: 3.5,
      seed: '18446744073709551615',
      loras: [{ name: 'flux/grain.safetensors', strength: 0.6 }],
    })
  })

  it.each([
    ['zero', '0', true],
    ['largest', '18446744073709551615', true],
    ['too large', '18446744073709551616', false],
    ['negative', '-1', false],
    ['not a number', '12a', false],
    ['empty', '', false],
  ])('seed %s', (_n, seed, ok) => {
    expect(seedValid(seed)).toBe(ok)
  })
})

describe('jobs', () => {
  it('follows a job from submit to its images', async () => {
    const { calls } = serve()
    const { g } = await ready()
    g.form.prompt = 'a cat'
    expect(await g.generate()).toBe(true)
    expect(calls.some((c) => c.method === 'POST')).toBe(true)
    expect(g.jobs.map((j) => j.id)).toEqual(['j1'])
    expect(g.running).toBe(true)
    const es = FakeEventSource.last
    expect(es?.url).toBe('/api/jobs/j1/events')
    es?.emit('progress', { id: 'j1', status: 'running', progress: 0.5 })
    expect(g.selected?.job?.progress).toBe(0.5)
    es?.emit('succeeded', {
      id: 'j1',
      status: 'succeeded',
      progress: 1,
      images: ['/api/images/j1/0'],
    })
    expect(es?.closed).toBe(true)
    expect(g.running).toBe(false)
    expect(g.selected?.job?.images).toEqual(['/api/images/j1/0'])
    // The session keeps the finished job.
    expect(sessionStorage.getItem('atelier.jobs')).toContain('j1')
  })

  it('shows the service field problems', async () => {
    serve()
    mockFetch({
      'GET /api/models': { body: fx.models() },
      'GET /api/image-gen': { body: fx.imageGen() },
      'GET /api/loras': { body: fx.loras('flux1-dev') },
      'POST /api/generate-image': {
        status: 400,
        body: {
          error: {
            code: 'invalid_request',
            message: 'steps: must be between 1 and 60',
            details: [{ field: 'steps', message: 'must be between 1 and 60' }],
          },
        },
      },
    })
    const { g } = await ready()
    g.form.prompt = 'a cat'
    expect(await g.generate()).toBe(false)
    expect(g.fieldErrors).toEqual({ steps: 'must be between 1 and 60' })
    expect(g.jobs).toEqual([])
  })

  it('will not submit without a prompt', async () => {
    const { calls } = serve()
    const { g } = await ready()
    expect(g.canGenerate).toBe(false)
    expect(await g.generate()).toBe(false)
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
  })
})

function sizeOf(g: ReturnType<typeof useGeneratorStore>, ratio: string) {
  const r = g.ratios.find((x) => x.ratio === ratio)
  return r ? `${r.width}×${r.height}` : ''
}

describe('ratio presets', () => {
  it('show the sizes the chosen model really generates', async () => {
    serve()
    const { g } = await ready()
    expect(g.form.model).toBe('flux1-dev')
    expect(sizeOf(g, '4:3')).toBe('1184×880')
    g.selectModel('sdxl-base')
    expect(sizeOf(g, '4:3')).toBe('1176×888')
    g.form.ratio = '4:3'
    expect(g.selectedRatio?.width).toBe(1176)
  })

  it('keep the choice when the new model has it, else take the default', async () => {
    serve()
    const { c, g } = await ready()
    g.form.ratio = '16:9'
    g.selectModel('sdxl-base')
    expect(g.form.ratio).toBe('16:9')
    const only = [{ ratio: '1:1', width: 1024, height: 1024 }]
    c.imageGen = {
      ...fx.imageGen(),
      size_ratios_by_model: { 'flux1-dev': only },
    }
    g.selectModel('flux1-dev')
    expect(g.form.ratio).toBe('1:1')
  })

  it('fall back to the shared presets for a model without its own', async () => {
    serve()
    const { c, g } = await ready()
    c.imageGen = { ...fx.imageGen(), size_ratios_by_model: {} }
    expect(sizeOf(g, '4:3')).toBe('1184×880')
    c.imageGen = { ...fx.imageGen(), size_ratios_by_model: undefined }
    g.selectModel('sdxl-base')
    expect(sizeOf(g, '4:3')).toBe('1184×880')
  })
})

describe('form in the session', () => {
  it('comes back as it was left', async () => {
    serve()
    const { g } = await ready()
    g.selectModel('sdxl-base')
    Object.assign(g.form, {
      prompt: 'a cat',
      negative: 'blur',
      steps: 33,
      ratio: '4:3',
      seedMode: 'fixed',
      seed: '42',
      batch: 2,
    })
    await nextTick()

    setActivePinia(createPinia())
    const again = await ready()
    expect(again.g.form).toMatchObject({
      prompt: 'a cat',
      negative: 'blur',
      model: 'sdxl-base',
      steps: 33,
      cfg: 7,
      ratio: '4:3',
      seedMode: 'fixed',
      seed: '42',
      batch: 2,
    })
  })

  it('corrects what the config no longer allows', async () => {
    serve()
    sessionStorage.setItem(
      'atelier.form',
      JSON.stringify({
        prompt: 'kept',
        model: 'gone',
        steps: 'many',
        ratio: '21:9',
        batch: 99,
        loras: [{ name: 'x' }],
      }),
    )
    const { g } = await ready()
    expect(g.form).toMatchObject({
      prompt: 'kept',
      model: 'flux1-dev',
      steps: 20,
      ratio: '1:1',
      batch: 4,
      loras: [],
    })
  })

  it('starts blank from something that is not a form', async () => {
    serve()
    sessionStorage.setItem('atelier.form', '{not json')
    const { g } = await ready()
    expect([g.form.prompt, g.form.model]).toEqual(['', 'flux1-dev'])
  })
})

describe('prompt limit', () => {
  it('counts characters as the service does', () => {
    expect(promptLength('  abc  ')).toBe(3)
    // One code point each, two UTF-16 units each.
    expect(promptLength('😀😀')).toBe(2)
  })

  it('will not submit a prompt past the limit', async () => {
    const { calls } = serve()
    const { g } = await ready()
    g.form.prompt = 'x'.repeat(maxPromptLength + 1)
    expect(g.promptTooLong).toBe(true)
    expect(await g.generate()).toBe(false)
    g.form.prompt = '😀'.repeat(maxPromptLength)
    expect(g.promptTooLong).toBe(false)
    g.form.negative = 'n'.repeat(maxPromptLength + 1)
    expect(g.canGenerate).toBe(false)
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
  })
})

describe('service errors', () => {
  function refuse(status: number, message: string, details?: unknown) {
    mockFetch({
      'GET /api/models': { body: fx.models() },
      'GET /api/image-gen': { body: fx.imageGen() },
      'GET /api/loras': { body: fx.loras('flux1-dev') },
      'POST /api/generate-image': {
        status,
        body: { error: { code: 'x', message, details } },
      },
    })
  }

  it.each([
    [
      'a field the form shows: by the field only',
      [{ field: 'prompt', message: 'longer than 10000 characters' }],
      { prompt: 'longer than 10000 characters' },
      '',
    ],
    [
      'a field the form does not show: in the general error',
      [{ field: 'loras', message: 'unknown LoRA "x"' }],
      {},
      'loras: unknown LoRA "x"',
    ],
    [
      'both: each once',
      [
        { field: 'steps', message: 'too many' },
        { field: 'model', message: 'not installed' },
      ],
      { steps: 'too many' },
      'model: not installed',
    ],
    ['no details: the message', undefined, {}, 'no ComfyUI backend is up'],
  ])('%s', async (_n, details, fields, general) => {
    refuse(details ? 400 : 503, 'no ComfyUI backend is up', details)
    const { g } = await ready()
    g.form.prompt = 'a cat'
    expect(await g.generate()).toBe(false)
    expect(g.fieldErrors).toEqual(fields)
    expect(g.submitError).toBe(general)
  })
})

describe('no model can run', () => {
  it('says why, once', async () => {
    const why = 'no ComfyUI backend is up'
    modelList = fx
      .models()
      .models.map((m) => ({ ...m, available: false, unavailable_reason: why }))
    serve()
    const c = useCatalogStore()
    const g = useGeneratorStore()
    await c.load()
    expect(g.noModelReason).toBe(why)
    expect(g.form.model).toBe('')
    expect(g.canGenerate).toBe(false)
  })

  it('says nothing while one can', async () => {
    serve()
    const { g } = await ready()
    expect(g.noModelReason).toBe('')
  })
})
