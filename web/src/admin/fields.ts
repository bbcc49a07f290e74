// Field descriptions for the section editors, and reading and writing a
// field of an item by its dotted path ("defaults.steps").

export type FieldKind =
  'text' | 'number' | 'optnumber' | 'switch' | 'select' | 'tags'

export interface FieldSpec {
  /** Dotted path inside the item, also the tail of problem paths. */
  key: string
  /** i18n key of the label. */
  label: string
  kind: FieldKind
  /** i18n key of a hint under the field. */
  hint?: string
  required?: boolean
  min?: number
  max?: number
  step?: number
  precision?: number
  /** Suggestions for select fields; free text is allowed too. */
  options?: () => string[]
  /** A field that cannot change once the item exists (its name). */
  fixedOnEdit?: boolean
}

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** getPath reads a dotted path; a missing step gives undefined. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (!isObj(cur)) return undefined
    cur = cur[part]
  }
  return cur
}

/**
 * setPath writes a dotted path, making objects on the way. Writing
 * undefined or null removes the key, and an object left empty by that is
 * removed too, so optional groups such as defaults vanish when cleared.
 */
export function setPath(obj: Obj, path: string, value: unknown) {
  const parts = path.split('.')
  const last = parts.pop()
  if (last === undefined) return
  const chain: [Obj, string][] = []
  let cur = obj
  for (const part of parts) {
    let next = cur[part]
    if (!isObj(next)) {
      if (value === undefined || value === null) return
      next = {}
      cur[part] = next
    }
    chain.push([cur, part])
    cur = next as Obj
  }
  if (value === undefined || value === null) {
    delete cur[last]
    for (let i = chain.length - 1; i >= 0; i--) {
      const link = chain[i]
      if (!link) break
      const [parent, key] = link
      const child = parent[key]
      if (isObj(child) && Object.keys(child).length === 0) delete parent[key]
      else break
    }
    return
  }
  cur[last] = value
}

/** problemPath is where the server reports a problem with a field. */
export function problemPath(
  section: string,
  index: number,
  key: string,
): string {
  return `${section}[${index}].${key}`
}
