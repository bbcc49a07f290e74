import { describe, expect, it } from 'vitest'
import { getPath, problemPath, setPath } from './fields'

describe('getPath', () => {
  it.each([
    ['top level', { a: 1 }, 'a', 1],
    ['nested', { a: { b: 2 } }, 'a.b', 2],
    ['missing step', { a: 1 }, 'a.b', undefined],
    ['missing object', {}, 'x.y', undefined],
  ])('%s', (_n, obj, path, want) => {
    expect(getPath(obj, path)).toEqual(want)
  })
})

describe('setPath', () => {
  it('makes objects on the way', () => {
    const o: Record<string, unknown> = { name: 'm' }
    setPath(o, 'defaults.steps', 20)
    expect(o).toEqual({ name: 'm', defaults: { steps: 20 } })
  })

  it('removes a cleared key and the object it leaves empty', () => {
    const o: Record<string, unknown> = { defaults: { steps: 20 } }
    setPath(o, 'defaults.steps', null)
    expect(o).toEqual({})
  })

  it('keeps an object that still has keys', () => {
    const o: Record<string, unknown> = { defaults: { steps: 20, cfg: 7 } }
    setPath(o, 'defaults.steps', undefined)
    expect(o).toEqual({ defaults: { cfg: 7 } })
  })

  it('does not create objects to clear a key', () => {
    const o: Record<string, unknown> = {}
    setPath(o, 'defaults.steps', null)
    expect(o).toEqual({})
  })
})

it('problemPath matches the server paths', () => {
  expect(problemPath('models', 2, 'display_name')).toBe(
    'models[2].display_name',
  )
})
