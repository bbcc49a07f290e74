import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { reactive } from 'vue'
import type { Role } from '@/api/auth'
import type { InspectResult } from '@/api/workflows'
import type { Snapshot } from '@/api/snapshot'
import { i18n, setLocale } from '@/i18n'
import { useDraftStore } from '@/stores/draft'
import { useSessionStore } from '@/stores/session'
import { mockFetch, type Route } from '@/test/fetch'
import AuditView from '../views/AuditView.vue'
import ImageGenView from '../views/ImageGenView.vue'
import ModelsView from '../views/ModelsView.vue'
import ReleasesView from '../views/ReleasesView.vue'
import WorkflowUpload from './WorkflowUpload.vue'

let pinia: Pinia

function config(): Snapshot {
  return {
    schema_version: 1,
    models: [
      {
        name: 'flux1-dev',
        display_name: 'Flux',
        model_type: 'flux1',
        file: 'flux.safetensors',
        available: true,
        sort_order: 1,
      },
      {
        name: 'sdxl-base',
        display_name: 'SDXL',
        model_type: 'sdxl',
        file: 'sdxl.safetensors',
        available: true,
        sort_order: 2,
      },
    ],
    loras: [],
    workflows: [],
    image_gen: {
      default_size: { width: 1024, height: 1024 },
      size_ratios: ['1:1'],
      default_steps: 20,
      max_steps: 60,
      max_pixels: 2097152,
      max_batch: 4,
    },
  }
}

const emptyDiff = {
  models: { added: [], removed: [], changed: [] },
  loras: { added: [], removed: [], changed: [] },
  workflows: { added: [], removed: [], changed: [] },
  image_gen: null,
}

function serve(extra: Record<string, Route> = {}) {
  return mockFetch({
    'GET /api/admin/draft': {
      body: { revision: 3, config: config(), problems: [], base_version: 1 },
    },
    'GET /api/admin/draft/diff': {
      body: { from: 1, revision: 3, diff: emptyDiff, empty: true },
    },
    ...extra,
  })
}

function signIn(role: Role) {
  useSessionStore().me = { name: 'ann', role, via: 'session' }
}

function mountIn<T>(component: T, props: Record<string, unknown> = {}) {
  return mount(component as never, {
    props: props as never,
    attachTo: document.body,
    global: {
      plugins: [pinia, i18n],
      // Real transitions, so form items render their error messages.
      stubs: { transition: false, 'transition-group': false },
    },
  })
}

/** el finds an element anywhere in the page (dialogs are teleported). */
function el<T extends Element = HTMLElement>(selector: string): T {
  const e = document.querySelector<T>(selector)
  if (!e) throw new Error(`no ${selector} in the page`)
  return e
}

/** settle waits out the form items' debounced error display. */
async function settle() {
  await flushPromises()
  await new Promise((r) => setTimeout(r, 150))
}

function type(selector: string, value: string) {
  const input = el<HTMLInputElement>(selector)
  input.value = value
  input.dispatchEvent(new Event('input'))
}

beforeEach(() => {
  pinia = createPinia()
  setActivePinia(pinia)
  setLocale('en')
})

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('SectionEditor save', () => {
  async function editSdxl() {
    await useDraftStore().load()
    const w = mountIn(ModelsView)
    await flushPromises()
    await w.get('[data-testid="edit-sdxl-base"]').trigger('click')
    await flushPromises()
    return w
  }

  it('keeps an invalid item out of the draft and shows why by the field', async () => {
    const { calls } = serve({
      'POST /api/admin/draft/validate': {
        body: {
          valid: false,
          problems: [
            { path: 'models[1].display_name', message: 'required' },
            { path: 'models[1].defaults', message: 'odd defaults' },
            { path: 'loras[3].base_model', message: 'unknown model' },
          ],
        },
      },
    })
    signIn('editor')
    await editSdxl()
    type('[data-testid="field-display_name"]', '')
    el('[data-testid="item-save"]').click()
    await settle()

    expect(calls.some((c) => c.method === 'PUT')).toBe(false)
    const sent = calls.find((c) => c.url === '/api/admin/draft/validate')
    expect(JSON.parse(sent?.body ?? '{}').models[1].display_name).toBe(
      undefined,
    )
    expect(el('[data-field="display_name"]').textContent).toContain('required')
    expect(el('[data-testid="item-problems"]').textContent).toContain(
      'odd defaults',
    )
    // Problems of other items are not this editor's business.
    expect(el('[data-testid="item-dialog"]').textContent).not.toContain(
      'unknown model',
    )
    expect(useDraftStore().config?.models[1]?.display_name).toBe('SDXL')
    expect(useDraftStore().revision).toBe(3)

    // Fixing the field clears its problem until the next save.
    type('[data-testid="field-display_name"]', 'SDXL again')
    await settle()
    expect(el('[data-field="display_name"]').textContent).not.toContain(
      'required',
    )
  })

  it('saves and closes when the problems are elsewhere', async () => {
    const elsewhere = [{ path: 'loras[3].base_model', message: 'unknown' }]
    const { calls } = serve({
      'POST /api/admin/draft/validate': {
        body: { valid: false, problems: elsewhere },
      },
      'PUT /api/admin/draft': {
        body: { revision: 4, valid: false, problems: elsewhere },
      },
    })
    signIn('editor')
    await editSdxl()
    type('[data-testid="field-display_name"]', 'SDXL 1.0')
    el('[data-testid="item-save"]').click()
    await flushPromises()

    const put = calls.find((c) => c.method === 'PUT')
    expect(JSON.parse(put?.body ?? '{}').models[1].display_name).toBe(
      'SDXL 1.0',
    )
    expect(useDraftStore().config?.models[1]?.display_name).toBe('SDXL 1.0')
    expect(useDraftStore().revision).toBe(4)
  })

  it('checks a new item at the index it will have', async () => {
    const { calls } = serve({
      'POST /api/admin/draft/validate': {
        body: {
          valid: false,
          problems: [{ path: 'models[2].file', message: 'required' }],
        },
      },
    })
    signIn('editor')
    await useDraftStore().load()
    const w = mountIn(ModelsView)
    await flushPromises()
    await w.get('[data-testid="item-add"]').trigger('click')
    await flushPromises()
    type('[data-testid="field-name"]', 'new-one')
    el('[data-testid="item-save"]').click()
    await settle()
    expect(calls.some((c) => c.method === 'PUT')).toBe(false)
    expect(el('[data-field="file"]').textContent).toContain('required')
    expect(useDraftStore().config?.models).toHaveLength(2)
  })
})

describe('ImageGenView save', () => {
  it('keeps invalid settings out of the draft and shows why', async () => {
    const { calls } = serve({
      'POST /api/admin/draft/validate': {
        body: {
          valid: false,
          problems: [
            { path: 'image_gen.max_steps', message: 'below default_steps' },
          ],
        },
      },
    })
    signIn('editor')
    await useDraftStore().load()
    const w = mountIn(ImageGenView)
    await flushPromises()
    const input = w.get<HTMLInputElement>('[data-testid="ig-max-steps"] input')
    await input.setValue('5')
    await input.trigger('change')
    await w.get('[data-testid="ig-save"]').trigger('click')
    await settle()
    const sent = calls.find((c) => c.url === '/api/admin/draft/validate')
    expect(JSON.parse(sent?.body ?? '{}').image_gen.max_steps).toBe(5)
    expect(calls.some((c) => c.method === 'PUT')).toBe(false)
    expect(w.text()).toContain('below default_steps')
    expect(useDraftStore().config?.image_gen.max_steps).toBe(60)
  })
})

describe('WorkflowUpload', () => {
  const found = (node: string, input: string, value: unknown = 1) => ({
    targets: [{ node, class: 'X', input, value }],
  })

  function inspection(
    over: Record<string, object> = {},
    file = 'sdxl.safetensors',
  ): InspectResult {
    const points: Record<string, object> = {
      prompt: found('6', 'text', 'a cat'),
      negative_prompt: found('7', 'text', ''),
      seed: found('3', 'seed'),
      steps: found('3', 'steps'),
      cfg: found('3', 'cfg'),
      guidance: { targets: null, missing: 'no FluxGuidance node' },
      sampler: found('3', 'sampler_name', 'euler'),
      scheduler: found('3', 'scheduler', 'normal'),
      width: found('5', 'width'),
      height: found('5', 'height'),
      batch_size: found('5', 'batch_size'),
      model: found('4', 'ckpt_name', file),
      output: found('9', 'filename_prefix', 'x'),
      ...over,
    }
    return {
      format: 'api',
      ok: !('seed' in over),
      message: 'API format; every injection point was found',
      inspection: {
        points: Object.entries(points).map(([name, p]) => ({
          name,
          targets: null,
          ...p,
        })),
      },
      problems: [],
      workflow_json: { '4': { class_type: 'CheckpointLoaderSimple' } },
    }
  }

  async function upload(item: Record<string, unknown>, text: string) {
    await useDraftStore().load()
    const w = mountIn(WorkflowUpload, { item, readonly: false })
    const input = w.get<HTMLInputElement>('[data-testid="workflow-file"]')
    const file = new File([text], 'graph.json', { type: 'application/json' })
    Object.defineProperty(input.element, 'files', { value: [file] })
    await input.trigger('change')
    await flushPromises()
    return w
  }

  function row(w: ReturnType<typeof mountIn>, point: string) {
    return w.get(`[data-point="${point}"]`)
  }

  it('shows optional points a graph lacks as absent, not as errors', async () => {
    serve({ 'POST /api/admin/workflows/inspect': { body: inspection() } })
    const item = reactive<Record<string, unknown>>({
      name: 'wf',
      base_model_type: 'sdxl',
    })
    const w = await upload(item, '{}')
    expect(row(w, 'guidance').attributes('data-state')).toBe('absent')
    expect(row(w, 'guidance').text()).toContain('not in this graph')
    expect(row(w, 'prompt').attributes('data-state')).toBe('found')
    expect(w.get('[data-testid="inspect-message"]').text()).toContain(
      'every required injection point was found. ' +
        'Optional points not in this graph: guidance.',
    )
    expect(item.workflow_json).toEqual({
      '4': { class_type: 'CheckpointLoaderSimple' },
    })
    // The base already covers the model whose file the graph loads.
    expect(w.find('[data-testid="base-note"]').exists()).toBe(false)
  })

  it('shows a missing required point as an error', async () => {
    serve({
      'POST /api/admin/workflows/inspect': {
        body: inspection({ seed: { targets: null, missing: 'no KSampler' } }),
      },
    })
    const w = await upload({ name: 'wf', base_model_type: 'sdxl' }, '{}')
    expect(row(w, 'seed').attributes('data-state')).toBe('missing')
    expect(row(w, 'seed').text()).toContain('not found')
    expect(row(w, 'seed').classes()).toContain('point--missing')
  })

  it('moves "For model" to the family of the file the graph loads', async () => {
    serve({ 'POST /api/admin/workflows/inspect': { body: inspection() } })
    const item = reactive<Record<string, unknown>>({
      name: 'wf',
      base_model_type: 'flux1',
    })
    const w = await upload(item, '{}')
    expect(item.base_model_type).toBe('sdxl')
    const note = w.get('[data-testid="base-note"]')
    expect(note.attributes('data-kind')).toBe('changed')
    expect(note.text()).toContain('from flux1 to sdxl')
  })

  it('keeps a model name a model name', async () => {
    serve({ 'POST /api/admin/workflows/inspect': { body: inspection() } })
    const item = reactive<Record<string, unknown>>({
      name: 'wf',
      base_model_type: 'flux1-dev',
    })
    await upload(item, '{}')
    expect(item.base_model_type).toBe('sdxl-base')
  })

  it('leaves "For model" when no model has the file, and says so', async () => {
    serve({
      'POST /api/admin/workflows/inspect': {
        body: inspection({}, 'other.safetensors'),
      },
    })
    const item = reactive<Record<string, unknown>>({
      name: 'wf',
      base_model_type: 'flux1',
    })
    const w = await upload(item, '{}')
    expect(item.base_model_type).toBe('flux1')
    const note = w.get('[data-testid="base-note"]')
    expect(note.attributes('data-kind')).toBe('unknown')
    expect(note.text()).toContain('other.safetensors')
  })

  it('says a file that is not JSON is not JSON', async () => {
    const { calls } = serve()
    const w = await upload({ name: 'wf', base_model_type: 'sdxl' }, 'nope {')
    expect(w.text()).toContain('“graph.json” is not a JSON file.')
    expect(w.text()).not.toMatch(/Unexpected|token|position/)
    expect(calls.some((c) => c.url.includes('inspect'))).toBe(false)
  })
})

describe('ReleasesView', () => {
  const release = (v: number) => ({
    version: v,
    hash: `sha256:${String(v).repeat(64)}`,
    message: `release ${v}`,
    published_at: '2026-01-01T00:00:00Z',
    published_by: 'ann',
  })

  it.each([
    ['the first release has no previous one', undefined, [3, 2]],
    ['an older page still counts', 1, [3, 2, 1]],
  ])('%s', async (_n, nextBefore, withPrev) => {
    mockFetch({
      'GET /api/admin/releases': {
        body: {
          releases: [release(3), release(2), release(1)],
          next_before: nextBefore,
        },
      },
    })
    signIn('publisher')
    const w = mountIn(ReleasesView)
    await flushPromises()
    const shown = [3, 2, 1].filter((v) =>
      w.find(`[data-testid="diff-prev-${v}"]`).exists(),
    )
    expect(shown).toEqual(withPrev)
    expect(w.findAll('[data-testid="release-hash"]')[0]?.text()).toBe(
      '333333333333',
    )
  })
})

describe('AuditView', () => {
  it('names the actions in the language in use, unknown ones as coded', async () => {
    setLocale('zh-CN')
    mockFetch({
      'GET /api/admin/audit': {
        body: {
          entries: ['login.failed', 'release.publish', 'odd.thing'].map(
            (action, id) => ({
              id,
              time: '2026-01-01T00:00:00Z',
              actor: 'ann',
              source: '127.0.0.1',
              action,
              target: '',
              summary: 'as the server writes it',
            }),
          ),
        },
      },
    })
    signIn('viewer')
    const w = mountIn(AuditView)
    await flushPromises()
    const cells = w.findAll('[data-testid="audit-action-cell"]')
    expect(cells.map((c) => c.text())).toEqual([
      '登录失败',
      '发布版本',
      'odd.thing',
    ])
    expect(cells[0]?.attributes('title')).toBe('login.failed')
  })
})
