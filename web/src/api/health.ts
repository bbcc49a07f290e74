import { ApiError, request } from './client'
import type { ConfigSource } from './common'

/** One ComfyUI backend as the main service sees it. */
export interface BackendHealth {
  url: string
  up: boolean
  error?: string
}

export type HealthStatus = 'healthy' | 'degraded' | 'unavailable'

/** The main service's health, as GET /api/health reports. */
export interface Health {
  status: HealthStatus
  backend_connected?: boolean
  config_source?: ConfigSource
  config_version?: number
  last_config_update?: string
  stale?: boolean
  comfyui?: BackendHealth[]
}

/**
 * getHealth returns the main service's health. The service answers 503
 * when it has no usable configuration; that answer is a health report too.
 */
export async function getHealth(): Promise<Health> {
  try {
    return await request<Health>('/api/health')
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) {
      return { status: 'unavailable' }
    }
    throw err
  }
}
