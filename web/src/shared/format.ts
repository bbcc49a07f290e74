// Formatting of times, ages and numbers in the user's language.

/** formatTime shows an RFC 3339 time as a local date and time. */
export function formatTime(iso: string | undefined, locale: string): string {
  if (!iso) return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(d)
}

/** ageSeconds is how many whole seconds ago iso was, never negative. */
export function ageSeconds(iso: string | undefined, now: number): number {
  if (!iso) return 0
  const t = new Date(iso).getTime()
  if (Number.isNaN(t)) return 0
  return Math.max(0, Math.floor((now - t) / 1000))
}

/** formatAge shows a duration in seconds as "12 s ago" in the locale. */
export function formatAge(seconds: number, locale: string): string {
  const rtf = new Intl.RelativeTimeFormat(locale, {
    numeric: 'auto',
    style: 'short',
  })
  if (seconds < 60) return rtf.format(-seconds, 'second')
  if (seconds < 3600) return rtf.format(-Math.floor(seconds / 60), 'minute')
  if (seconds < 86400) return rtf.format(-Math.floor(seconds / 3600), 'hour')
  return rtf.format(-Math.floor(seconds / 86400), 'day')
}

/** shortHash shows the start of a "sha256:…" hash. */
export function shortHash(hash: string | undefined): string {
  if (!hash) return '–'
  const h = hash.replace(/^sha256:/, '')
  return h.slice(0, 12)
}

/** formatValue shows a JSON value of a diff compactly, cut to max chars. */
export function formatValue(v: unknown, max = 120): string {
  if (v === undefined) return '–'
  const s = JSON.stringify(v)
  if (s === undefined) return String(v)
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

/** megapixels shows a pixel count as megapixels with one decimal. */
export function megapixels(pixels: number): string {
  return (pixels / 1_000_000).toFixed(1)
}

/** formatClock shows the time of day of an RFC 3339 time. */
export function formatClock(iso: string | undefined, locale: string): string {
  if (!iso) return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(locale, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(d)
}
