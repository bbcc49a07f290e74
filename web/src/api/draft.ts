import { request, requestFull } from './client'
import type { Problem } from './common'
import type { Diff, Snapshot } from './snapshot'

export interface Draft {
  revision: number
  config: Snapshot
  updated_at?: string
  updated_by?: string
  problems: Problem[] | null
  base_version: number
}

export interface SaveResult {
  revision: number
  problems: Problem[] | null
  valid: boolean
}

/** What a 409 on a draft write carries in error.details. */
export interface ConflictDetails {
  current_revision: number
  updated_by: string
  updated_at: string
  /** How the current draft differs from what was sent. */
  changes?: Diff
}

export interface DraftDiff {
  from: number
  revision: number
  diff: Diff
  empty: boolean
}

export function getDraft(): Promise<Draft> {
  return request<Draft>('/api/admin/draft')
}

/**
 * saveDraft replaces the draft, based on revision: a stale revision is
 * refused with 409 and ConflictDetails.
 */
export async function saveDraft(
  config: Snapshot,
  revision: number,
): Promise<SaveResult> {
  const a = await requestFull<SaveResult>('/api/admin/draft', {
    method: 'PUT',
    body: config,
    headers: { 'If-Match': `"${revision}"` },
  })
  return a.data
}

/** What POST /api/admin/draft/validate says about a whole config. */
export interface Validation {
  valid: boolean
  problems: Problem[] | null
}

/**
 * validateDraft checks a whole config as the draft would hold it, without
 * saving anything.
 */
export function validateDraft(config: Snapshot): Promise<Validation> {
  return request<Validation>('/api/admin/draft/validate', {
    method: 'POST',
    body: config,
  })
}

export function getDraftDiff(): Promise<DraftDiff> {
  return request<DraftDiff>('/api/admin/draft/diff')
}
