import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Snapshot } from '@/api/snapshot'
import { mockFetch } from '@/test/fetch'
import { problemsIn, useDraftStore } from './draft'

function config(): Snapshot {
  return {
    schema_version: 1,
    models: [
      {
        name: 'a',
        display_name: 'A',
        model_type: 'sdxl',
        file: 'a.safetensors',
        available: true,
        sort_order: 1,
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

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

function serveDraft(extra: Parameters<typeof mockFetch>[0] = {}) {
  return mockFetch({
    'GET /api/admin/draft': {
      body: {
        revision: 3,
        config: config(),
        problems: [],
        base_version: 1,
        updated_by: 'ann',
      },
    },
    'GET /api/admin/draft/diff': {
      body: { from: 1, revision: 3, diff: emptyDiff, empty: true },
    },
    ...extra,
  })
}

describe('draft', () => {
  it('loads the draft and whether it differs from the release', async () => {
    serveDraft()
    const d = useDraftStore()
    await d.load()
    expect([d.revision, d.baseVersion, d.updatedBy]).toEqual([3, 1, 'ann'])
    expect(d.pending).toBe(false)
  })

  it('saves with If-Match and keeps the problems by path', async () => {
    const { calls } = serveDraft({
      'PUT /api/admin/draft': {
        body: {
          revision: 4,
          valid: false,
          problems: [
            { path: 'models[0].display_name', message: 'required' },
            { path: 'models[0].defaults.steps', message: 'too many' },
            { path: 'image_gen.max_steps', message: 'too few' },
          ],
        },
      },
    })
    const d = useDraftStore()
    await d.load()
    const outcome = await d.save((c) => {
      const m = c.models[0]
      if (m) m.display_name = ''
    })
    expect(outcome).toBe('problems')
    const put = calls.find((c) => c.method === 'PUT')
    expect(put?.headers['If-Match']).toBe('"3"')
    expect(JSON.parse(put?.body ?? '{}').models[0].display_name).toBe('')
    expect(d.revision).toBe(4)
    expect(d.config?.models[0]?.display_name).toBe('')
    expect(d.problemAt('models[0].display_name')).toBe('required')
    expect(d.problemsUnder('models[0]').map((p) => p.path)).toEqual([
      'models[0].display_name',
      'models[0].defaults.steps',
    ])
    expect(d.problemsUnder('models[1]')).toEqual([])
  })

  it('keeps the local draft and reports what changed on 409', async () => {
    const changes = {
      ...emptyDiff,
      models: {
        added: [],
        removed: [],
        changed: [
          {
            name: 'a',
            fields: [
              { field: 'display_name', before: 'Mine', after: 'Theirs' },
            ],
          },
        ],
      },
    }
    serveDraft({
      'PUT /api/admin/draft': {
        status: 409,
        body: {
          error: {
            code: 'conflict',
            message: 'the draft was changed by bob (now revision 5)',
            details: {
              current_revision: 5,
              updated_by: 'bob',
              updated_at: '2026-01-01T00:00:00Z',
              changes,
            },
          },
        },
      },
    })
    const d = useDraftStore()
    await d.load()
    const outcome = await d.save((c) => {
      const m = c.models[0]
      if (m) m.display_name = 'Mine'
    })
    expect(outcome).toBe('conflict')
    expect(d.revision).toBe(3)
    expect(d.config?.models[0]?.display_name).toBe('A')
    expect(d.conflict?.updated_by).toBe('bob')
    expect(d.conflict?.current_revision).toBe(5)
    expect(d.conflict?.changes?.models.changed?.[0]?.name).toBe('a')
    await d.reload()
    expect(d.conflict).toBe(null)
  })

  it('reports other failures as errors', async () => {
    serveDraft({
      'PUT /api/admin/draft': {
        status: 403,
        body: { error: { code: 'forbidden', message: 'editors only' } },
      },
    })
    const d = useDraftStore()
    await d.load()
    expect(await d.save(() => undefined)).toBe('error')
    expect(d.error).toBe('editors only')
  })

  describe('guarded save', () => {
    function rename(name: string) {
      return (c: Snapshot) => {
        const m = c.models[0]
        if (m) m.display_name = name
      }
    }

    it('writes nothing when the edited item would have problems', async () => {
      const { calls } = serveDraft({
        'POST /api/admin/draft/validate': {
          body: {
            valid: false,
            problems: [
              { path: 'models[0].display_name', message: 'required' },
              { path: 'image_gen.max_steps', message: 'too few' },
            ],
          },
        },
      })
      const d = useDraftStore()
      await d.load()
      const outcome = await d.save(rename(''), { guard: () => 'models[0]' })
      expect(outcome).toBe('invalid')
      expect(d.refused).toEqual([
        { path: 'models[0].display_name', message: 'required' },
      ])
      const sent = calls.find((c) => c.url === '/api/admin/draft/validate')
      expect(JSON.parse(sent?.body ?? '{}').models[0].display_name).toBe('')
      expect(calls.some((c) => c.method === 'PUT')).toBe(false)
      // The local draft is as it was.
      expect([d.revision, d.config?.models[0]?.display_name]).toEqual([3, 'A'])
    })

    it('saves when the problems are elsewhere', async () => {
      const others = [{ path: 'models[10].file', message: 'required' }]
      const { calls } = serveDraft({
        'POST /api/admin/draft/validate': {
          body: { valid: false, problems: others },
        },
        'PUT /api/admin/draft': {
          body: { revision: 4, valid: false, problems: others },
        },
      })
      const d = useDraftStore()
      await d.load()
      const outcome = await d.save(rename('B'), { guard: () => 'models[1]' })
      expect(outcome).toBe('problems')
      expect(d.refused).toEqual([])
      expect(calls.filter((c) => c.method === 'PUT')).toHaveLength(1)
      expect(d.config?.models[0]?.display_name).toBe('B')
    })

    it('takes the guard from the changed config', async () => {
      serveDraft({
        'POST /api/admin/draft/validate': {
          body: {
            valid: false,
            problems: [{ path: 'models[1]', message: 'duplicate name "a"' }],
          },
        },
      })
      const d = useDraftStore()
      await d.load()
      const outcome = await d.save(
        (c) => {
          c.models.push({ ...c.models[0]! })
        },
        { guard: (next) => `models[${next.models.length - 1}]` },
      )
      expect(outcome).toBe('invalid')
      expect(d.refused.map((p) => p.message)).toEqual(['duplicate name "a"'])
    })

    it('does not write when the check fails', async () => {
      const { calls } = serveDraft({
        'POST /api/admin/draft/validate': {
          status: 500,
          body: { error: { code: 'internal', message: 'boom' } },
        },
      })
      const d = useDraftStore()
      await d.load()
      expect(await d.save(rename('B'), { guard: () => 'models[0]' })).toBe(
        'error',
      )
      expect(d.error).toBe('boom')
      expect(calls.some((c) => c.method === 'PUT')).toBe(false)
    })
  })

  it('tells problems inside a path from those beside it', () => {
    const ps = [
      { path: 'models[1]', message: 'a' },
      { path: 'models[1].name', message: 'b' },
      { path: 'models[1].defaults.steps', message: 'c' },
      { path: 'models[10].name', message: 'd' },
      { path: 'models[1]x', message: 'e' },
    ]
    expect(problemsIn(ps, 'models[1]').map((p) => p.message)).toEqual([
      'a',
      'b',
      'c',
    ])
  })
})
