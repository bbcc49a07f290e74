// The draft configuration being edited in the admin console. Every change
// is written at once with the revision it was based on; the server answers
// with the problems of the whole draft, or 409 when someone else saved
// first. An editor may ask for its part to be checked first: a change
// that would put problems into the item being edited is not written.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, cloneJSON, errorMessage } from '@/api/client'
import type { Problem } from '@/api/common'
import {
  getDraft,
  getDraftDiff,
  saveDraft,
  validateDraft,
  type ConflictDetails,
  type DraftDiff,
} from '@/api/draft'
import type { Snapshot } from '@/api/snapshot'

/**
 * What a save did: written without problems, written with problems
 * elsewhere in the draft, refused as invalid (nothing written), refused
 * because someone saved first, or failed.
 */
export type SaveOutcome =
  'saved' | 'problems' | 'invalid' | 'conflict' | 'error'

export interface SaveOptions {
  /**
   * guard names the part of the changed config the edit is about
   * ("models[3]", "image_gen"), found in the config after the change. The
   * would-be draft is validated first, and when any problem lies inside
   * that part nothing is written (outcome 'invalid', the problems in
   * refused). Problems elsewhere do not stop the save.
   */
  guard?: (next: Snapshot) => string
}

/** problemsIn lists the problems whose path is prefix or inside it. */
export function problemsIn(problems: Problem[], prefix: string): Problem[] {
  return problems.filter(
    (p) =>
      p.path === prefix ||
      p.path.startsWith(`${prefix}.`) ||
      p.path.startsWith(`${prefix}[`),
  )
}

/** A write refused because the draft moved on, with what changed. */
export interface Conflict extends ConflictDetails {
  message: string
}

export const useDraftStore = defineStore('draft', () => {
  const config = ref<Snapshot | null>(null)
  const revision = ref(0)
  const baseVersion = ref(0)
  const updatedBy = ref('')
  const updatedAt = ref('')
  const problems = ref<Problem[]>([])
  const diff = ref<DraftDiff | null>(null)
  const loading = ref(false)
  const saving = ref(false)
  const error = ref('')
  const conflict = ref<Conflict | null>(null)
  /** The problems that stopped the last guarded save, by their paths. */
  const refused = ref<Problem[]>([])

  /** pending tells whether the draft differs from the current release. */
  const pending = computed(() => !!diff.value && !diff.value.empty)

  async function loadDiff() {
    try {
      diff.value = await getDraftDiff()
    } catch {
      diff.value = null
    }
  }

  /** load reads the draft and how it differs from the current release. */
  async function load() {
    loading.value = true
    try {
      const d = await getDraft()
      config.value = d.config
      revision.value = d.revision
      baseVersion.value = d.base_version
      updatedBy.value = d.updated_by ?? ''
      updatedAt.value = d.updated_at ?? ''
      problems.value = d.problems ?? []
      error.value = ''
      await loadDiff()
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      loading.value = false
    }
  }

  /**
   * save applies change to a copy of the draft and writes it. The local
   * draft changes only when the server took the write. With a guard, the
   * copy is validated first and kept back when the guarded part has
   * problems.
   */
  async function save(
    change: (c: Snapshot) => void,
    opts: SaveOptions = {},
  ): Promise<SaveOutcome> {
    if (!config.value) return 'error'
    // A plain deep copy: the reactive draft stays as it is until saved.
    const next = cloneJSON(config.value)
    change(next)
    saving.value = true
    error.value = ''
    refused.value = []
    try {
      if (opts.guard) {
        const v = await validateDraft(next)
        const mine = problemsIn(v.problems ?? [], opts.guard(next))
        if (mine.length) {
          refused.value = mine
          return 'invalid'
        }
      }
      const r = await saveDraft(next, revision.value)
      config.value = next
      revision.value = r.revision
      problems.value = r.problems ?? []
      conflict.value = null
      await loadDiff()
      return problems.value.length ? 'problems' : 'saved'
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const d = (err.details ?? {}) as ConflictDetails
        conflict.value = { ...d, message: err.message }
        return 'conflict'
      }
      error.value = errorMessage(err)
      return 'error'
    } finally {
      saving.value = false
    }
  }

  /** reload drops a conflict and reads the current draft. */
  async function reload() {
    conflict.value = null
    await load()
  }

  /** problemsUnder lists the draft's problems at prefix or inside it. */
  function problemsUnder(prefix: string): Problem[] {
    return problemsIn(problems.value, prefix)
  }

  /** problemAt is the message for exactly one path, if any. */
  function problemAt(path: string): string | undefined {
    const ps = problems.value.filter((p) => p.path === path)
    return ps.length ? ps.map((p) => p.message).join('; ') : undefined
  }

  return {
    config,
    revision,
    baseVersion,
    updatedBy,
    updatedAt,
    problems,
    diff,
    loading,
    saving,
    error,
    conflict,
    refused,
    pending,
    load,
    loadDiff,
    save,
    reload,
    problemsUnder,
    problemAt,
  }
})
