import { request } from './client'
import type { Diff, Snapshot } from './snapshot'

export interface Release {
  version: number
  hash: string
  message: string
  published_at: string
  published_by: string
  rollback_of?: number
}

export interface ReleaseWithConfig extends Release {
  config: Snapshot
}

export interface ReleasePage {
  releases: Release[]
  next_before?: number
}

export interface ReleaseDiff {
  from: number
  to: number
  diff: Diff
  empty: boolean
}

export interface Published {
  version: number
  hash: string
  published_at?: string
  rollback_of?: number
}

export function listReleases(
  opts: { before?: number; limit?: number } = {},
): Promise<ReleasePage> {
  return request<ReleasePage>('/api/admin/releases', { query: { ...opts } })
}

export function getRelease(version: number): Promise<ReleaseWithConfig> {
  return request<ReleaseWithConfig>(`/api/admin/releases/${version}`)
}

export function diffReleases(a: number, b: number): Promise<ReleaseDiff> {
  return request<ReleaseDiff>(`/api/admin/releases/${a}/diff/${b}`)
}

/** publish makes the draft the next release. */
export function publish(message: string, force = false): Promise<Published> {
  return request<Published>('/api/admin/releases', {
    method: 'POST',
    body: force ? { message, force } : { message },
  })
}

/** rollback publishes a copy of an old release as a new version. */
export function rollback(
  version: number,
  message: string,
  force = false,
): Promise<Published> {
  const body: { message?: string; force?: boolean } = {}
  if (message) body.message = message
  if (force) body.force = true
  return request<Published>(`/api/admin/releases/${version}/rollback`, {
    method: 'POST',
    body,
  })
}
