// Media queries as reactive flags, for layouts CSS alone cannot switch
// (which table columns exist).
import { onBeforeUnmount, ref, type Ref } from 'vue'

/** The width under which the apps use their phone layouts. */
export const phoneQuery = '(max-width: 600px)'

/**
 * useMedia tells whether query matches, and follows changes while the
 * calling component is mounted.
 */
export function useMedia(query: string): Ref<boolean> {
  const mql =
    typeof window !== 'undefined' && typeof window.matchMedia === 'function'
      ? window.matchMedia(query)
      : null
  const on = ref(mql?.matches ?? false)
  if (mql) {
    const update = (e: MediaQueryListEvent) => (on.value = e.matches)
    mql.addEventListener('change', update)
    onBeforeUnmount(() => mql.removeEventListener('change', update))
  }
  return on
}
