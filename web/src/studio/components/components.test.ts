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
import ModelSelector from './ModelSelector.vue'

let pinia: Pinia

beforeEach(() => {
  pinia = createPinia()
  setActivePinia(pinia)
  setLocale('en')
  mockFetch({ 'GET /api/loras': { body: fx.loras('sdxl-base') } })
})

afterEach(() => vi.unstubAllGlobals())

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
