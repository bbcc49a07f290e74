import { request } from './client'
import type { ConfigMeta } from './common'

/** Generation defaults a model may carry. */
export interface ModelDefaults {
  steps?: number
  cfg?: number
  guidance?: number
  sampler?: string
  scheduler?: string
}

/** A model as the studio lists it. */
export interface Model {
  name: string
  display_name: string
  model_type: string
  available: boolean
  unavailable_reason?: string
  sort_order: number
  defaults?: ModelDefaults
  size_multiple?: number
  workflow?: string
}

export interface ModelList extends ConfigMeta {
  models: Model[]
  missing?: Record<string, string>
}

/** listModels returns the switched-on models in sort_order. */
export function listModels(signal?: AbortSignal): Promise<ModelList> {
  return request<ModelList>('/api/models', signal ? { signal } : {})
}
