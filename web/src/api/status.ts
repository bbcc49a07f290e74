import type { AuditEntry } from './audit'
import { request } from './client'

/** A main service (or other client) waiting on the sync API. */
export interface Watcher {
  id: number
  kind: string
  remote: string
  client: string
  user_agent: string
  since: string
  version: number
}

export interface AdminStatus {
  version: number
  hash: string
  published_at?: string
  published_by?: string
  message?: string
  watchers: Watcher[] | null
  recent_audit: AuditEntry[] | null
  sync_open: boolean
}

export function getAdminStatus(): Promise<AdminStatus> {
  return request<AdminStatus>('/api/admin/status')
}
