import { describe, expect, it } from 'vitest'
import { ageSeconds, formatAge, formatValue, shortHash } from './format'

describe('format', () => {
  it('ages are whole seconds and never negative', () => {
    const now = Date.parse('2026-01-01T00:01:00Z')
    expect(ageSeconds('2026-01-01T00:00:00Z', now)).toBe(60)
    expect(ageSeconds('2026-01-01T00:02:00Z', now)).toBe(0)
    expect(ageSeconds(undefined, now)).toBe(0)
    expect(ageSeconds('not a time', now)).toBe(0)
  })

  it.each([
    [5, 'en', '5 sec. ago'],
    [120, 'en', '2 min. ago'],
    [7200, 'en', '2 hr. ago'],
  ])('formatAge(%i, %s)', (s, locale, want) => {
    expect(formatAge(s, locale)).toBe(want)
  })

  it('shortens hashes', () => {
    expect(shortHash('sha256:0123456789abcdef')).toBe('0123456789ab')
    expect(shortHash(undefined)).toBe('–')
  })

  it('shows values as JSON text, cut to length', () => {
    expect(formatValue('<b>x</b>')).toBe('"<b>x</b>"')
    expect(formatValue(3)).toBe('3')
    expect(formatValue(undefined)).toBe('–')
    expect(formatValue('x'.repeat(50), 10)).toBe('"xxxxxxxx…')
  })
})
