import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import type { ConfigStatus } from '@/api/configStatus'
import { i18n, setLocale } from '@/i18n'
import { useCatalogStore } from '@/stores/catalog'
import { useGeneratorStore } from '@/stores/generator'
import { mockFetch } from '@/test/fetch'
import * as fx from '@/test/fixtures'
import ConfigSourceBadge from './ConfigSourceBadge.vue'
import ImageControlPanel from './ImageControlPanel.vue'
import ModelSelector from './ModelSelector.vue'
import PromptPanel from './PromptPanel.vue'
import ResultStage from './ResultStage.vue'

let pinia: Pinia

beforeEach(() => {
  pinia = createPinia()
  setActivePinia(pinia)
  setLocale('en')
  mockFetch({ 'GET /api/loras': { body: fx.loras('sdxl-base') } })
})

afterEach(() => {
  vi.unstubAllGlobals()
  sessionStorage.clear()
})

function mountWith<T>(component: T) {
  return mount(component as never, { global: { plugins: [pinia, i18n] } })
}

function status(over: Partial<ConfigStatus>): ConfigStatus {
  return { ...(fx.status(3) as ConfigStatus), ...over }
}

describe('ConfigSourceBadge', () => {
  it.each([
    ['live backend config', { source: 'backend' }, '', 'ok', 'backend'],
    ['stale backend config', { stale: true }, '', 'warn', 'stale'],
    ['served from cache', { source: 'cache' }, '', 'warn', 'cache'],
    ['served from the local file', { source: 'local' }, '', 'warn', 'local'],
    ['no status', {}, 'network down', 'bad', 'unreachable'],
  ] as const)('%s', async (_n, over, err, level, text) => {
    const c = useCatalogStore()
    c.status = status(over as Partial<ConfigStatus>)
    c.statusError = err
    const w = mountWith(ConfigSourceBadge)
    await nextTick()
    const badge = w.get('[data-testid="config-badge"]')
    expect(badge.attributes('data-level')).toBe(level)
    expect(badge.text()).toContain(text)
  })
})

describe('ModelSelector', () => {
  it('lists models in order, unavailable ones disabled with the reason', async () => {
    const c = useCatalogStore()
    const g = useGeneratorStore()
    const list = fx.models(1).models
    const withMarkup = list.map((m) =>
      m.name === 'sdxl-base' ? { ...m, display_name: '<b>SDXL</b>' } : m,
    )
    c.models = [...withMarkup].sort((a, b) => a.sort_order - b.sort_order)
    const w = mountWith(ModelSelector)
    await nextTick()
    const options = w.findAll('[data-testid="model-option"]')
    expect(options.map((o) => o.attributes('data-model'))).toEqual([
      'flux1-dev',
      'sdxl-base',
      'missing',
    ])
    // A display name is text, never markup.
    expect(options[1]?.find('b').exists()).toBe(false)
    expect(options[1]?.text()).toContain('<b>SDXL</b>')

    const off = options[2]
    expect(off?.attributes('aria-disabled')).toBe('true')
    expect(off?.text()).toContain('not installed on any ComfyUI backend')
    await off?.trigger('click')
    expect(g.form.model).not.toBe('missing')

    await options[1]?.trigger('click')
    expect(g.form.model).toBe('sdxl-base')
    await nextTick()
    expect(options[1]?.attributes('aria-checked')).toBe('true')
  })
})

describe('ConfigSourceBadge health', () => {
  it('turns the header badge to a warning when no ComfyUI is up', async () => {
    const c = useCatalogStore()
    c.status = status({})
    c.health = fx.health(false) as typeof c.health
    const w = mountWith(ConfigSourceBadge)
    await nextTick()
    const badge = w.get('[data-testid="config-badge"]')
    expect(badge.attributes('data-level')).toBe('warn')
    expect(badge.attributes('data-health')).toBe('degraded')
    expect(badge.text()).toContain('ComfyUI down')
  })

  it('leaves the badges of single lists to their config', async () => {
    const c = useCatalogStore()
    c.status = status({})
    c.health = fx.health(false) as typeof c.health
    const w = mount(ConfigSourceBadge as never, {
      props: { source: 'backend', version: 3, compact: true } as never,
      global: { plugins: [pinia, i18n] },
    })
    await nextTick()
    const badge = w.get('[data-testid="config-badge"]')
    expect(badge.attributes('data-level')).toBe('ok')
    expect(badge.text()).not.toContain('ComfyUI')
  })

  it('is healthy when ComfyUI is up', async () => {
    const c = useCatalogStore()
    c.status = status({})
    c.health = fx.health(true) as typeof c.health
    const w = mountWith(ConfigSourceBadge)
    await nextTick()
    expect(w.get('[data-testid="config-badge"]').attributes('data-level')).toBe(
      'ok',
    )
  })
})

describe('ModelSelector with no runnable model', () => {
  it('says so once instead of under every model', async () => {
    const c = useCatalogStore()
    const why = 'no ComfyUI backend is up'
    c.models = fx
      .models()
      .models.map((m) => ({ ...m, available: false, unavailable_reason: why }))
    const w = mountWith(ModelSelector)
    await nextTick()
    expect(w.get('[data-testid="no-runnable-model"]').text()).toBe(
      `No model can run now: ${why}`,
    )
    expect(w.findAll('[data-testid="model-reason"]')).toHaveLength(0)
    expect(w.findAll('[data-testid="model-option"]')).toHaveLength(3)
  })
})

describe('ImageControlPanel', () => {
  it('shows each preset at the size the chosen model gets', async () => {
    const c = useCatalogStore()
    const g = useGeneratorStore()
    c.models = fx.models().models
    c.imageGen = fx.imageGen()
    g.selectModel('flux1-dev')
    const w = mountWith(ImageControlPanel)
    await nextTick()
    const size = () => w.get('[data-ratio="4:3"]').text()
    expect(size()).toContain('1184×880')
    g.selectModel('sdxl-base')
    await nextTick()
    expect(size()).toContain('1176×888')
  })

  it('says CFG comes from the workflow when empty', async () => {
    const c = useCatalogStore()
    c.imageGen = fx.imageGen()
    const w = mountWith(ImageControlPanel)
    await nextTick()
    const cfg = w.get('#cfg-input')
    expect(cfg.attributes('placeholder')).toBe('from the workflow')
    expect(cfg.attributes('aria-label')).toContain('CFG')
  })
})

describe('PromptPanel', () => {
  function setup() {
    const c = useCatalogStore()
    const g = useGeneratorStore()
    c.models = fx.models().models
    c.imageGen = fx.imageGen()
    g.selectModel('flux1-dev')
    return g
  }

  it('limits both prompts and counts the prompt', async () => {
    setup()
    const w = mountWith(PromptPanel)
    await nextTick()
    expect(w.get('textarea').attributes('maxlength')).toBe('10000')
    expect(
      w.get('input[data-testid="negative-prompt"]').attributes('maxlength'),
    ).toBe('10000')
    expect(w.get('.el-input__count').text()).toBe('0 / 10000')
  })

  it('shows a service problem with the prompt once', async () => {
    const g = setup()
    const w = mountWith(PromptPanel)
    g.form.prompt = 'a cat'
    g.fieldErrors = { prompt: 'longer than 10000 characters' }
    g.submitError = ''
    await nextTick()
    const text = w.text()
    expect(text.split('longer than 10000 characters')).toHaveLength(2)
    expect(w.get('[data-testid="submit-error"]').text()).toBe(
      'Prompt: longer than 10000 characters',
    )
    expect(w.get('textarea').attributes('aria-invalid')).toBe('true')
  })

  it('keeps the message line when there is nothing to say', async () => {
    setup()
    const w = mountWith(PromptPanel)
    await nextTick()
    expect(w.get('[data-testid="submit-error"]').text()).toBe('')
  })

  it('points at other fields without repeating them', async () => {
    const g = setup()
    const w = mountWith(PromptPanel)
    g.fieldErrors = { steps: 'too many' }
    await nextTick()
    expect(w.get('[data-testid="submit-error"]').text()).toBe(
      'Not generated: see the fields marked in red.',
    )
    expect(w.text()).not.toContain('too many')
  })

  it('says why nothing can run', async () => {
    const c = useCatalogStore()
    c.models = fx.models().models.map((m) => ({
      ...m,
      available: false,
      unavailable_reason: 'no ComfyUI backend is up',
    }))
    const w = mountWith(PromptPanel)
    await nextTick()
    expect(w.get('[data-testid="blocked"]').text()).toBe(
      'No model can run now: no ComfyUI backend is up',
    )
  })
})

describe('ResultStage', () => {
  it('draws the bar at the percentage it shows', async () => {
    const g = useGeneratorStore()
    g.jobs = [
      {
        id: 'j1',
        prompt: 'a cat',
        model: 'flux1-dev',
        createdAt: '2026-01-01T00:00:00Z',
        job: {
          id: 'j1',
          status: 'running',
          progress: 0.64,
          step: 16,
          steps: 25,
        } as never,
      },
    ]
    g.selectedId = 'j1'
    const w = mountWith(ResultStage)
    await nextTick()
    expect(w.get('[data-testid="progress-pct"]').text()).toBe('64%')
    const bar = w.get('.el-progress-bar__inner')
    expect((bar.element as HTMLElement).style.width).toBe('64%')
  })
})
