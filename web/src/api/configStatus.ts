import { request } from './client'
import type { ConfigSource } from './common'

/** The main service's config client, as GET /api/config/status reports. */
export interface ConfigStatus {
  source: ConfigSource
  version: number
  hash: string
  backend_connected: boolean
  stale: boolean
  last_config_update?: string
  last_sync_attempt?: string
  last_sync_success?: string
  last_error?: string
  rejected?: { version: number; reason: string; at?: string } | null
  transport?: string
  published_at?: string
  cache_error?: string
}

type Raw = Partial<ConfigStatus> & {
  config_source?: ConfigSource
  config_version?: number
}

/** normalizeStatus accepts either spelling of source and version. */
export function normalizeStatus(raw: Raw): ConfigStatus {
  return {
    ...raw,
    source: raw.source ?? raw.config_source ?? 'none',
    version: raw.version ?? raw.config_version ?? 0,
    hash: raw.hash ?? '',
    backend_connected: raw.backend_connected ?? false,
    stale: raw.stale ?? false,
  }
}

/** getConfigStatus returns the config client's status. */
export async function getConfigStatus(): Promise<ConfigStatus> {
  return normalizeStatus(await request<Raw>('/api/config/status'))
}
