import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import en from './en'
import { detectLocale } from './index'
import zhCN from './zh-CN'

describe('detectLocale', () => {
  it.each([
    ['a stored choice wins', ['en-US'], 'zh-CN', 'zh-CN'],
    ['an unknown stored value is ignored', ['en-US'], 'fr', 'en'],
    ['Chinese browser', ['zh-TW', 'en'], null, 'zh-CN'],
    ['English browser', ['en-GB'], null, 'en'],
    ['first known language', ['fr', 'zh'], null, 'zh-CN'],
    ['nothing known', ['fr', 'de'], null, 'en'],
  ])('%s', (_n, langs, stored, want) => {
    expect(detectLocale(langs, stored)).toBe(want)
  })
})

type Tree = { [k: string]: string | Tree }

function keys(t: Tree, prefix = ''): string[] {
  return Object.entries(t).flatMap(([k, v]) =>
    typeof v === 'string' ? [`${prefix}${k}`] : keys(v, `${prefix}${k}.`),
  )
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) return sources(p)
    return /\.(vue|ts)$/.test(f) && !f.endsWith('.test.ts') ? [p] : []
  })
}

describe('messages', () => {
  const enKeys = new Set(keys(en as unknown as Tree))

  it('zh-CN has every English key and no other', () => {
    expect(new Set(keys(zhCN as unknown as Tree))).toEqual(enKeys)
  })

  it('has every key the code names literally', () => {
    const src = resolve(import.meta.dirname, '..')
    const used = new Set<string>()
    const re =
      /(?:\bt\(\s*|label: |noun: |hint: |title: |noun=)'([a-zA-Z]+\.[a-zA-Z_.]+)'/g
    for (const file of sources(src)) {
      for (const m of readFileSync(file, 'utf8').matchAll(re)) {
        const k = m[1]
        if (k && /^(common|badge|studio|admin)\./.test(k)) used.add(k)
      }
    }
    expect(used.size).toBeGreaterThan(100)
    expect([...used].filter((k) => !enKeys.has(k))).toEqual([])
  })
})
