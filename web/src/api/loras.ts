import { request } from './client'
import type { ConfigMeta } from './common'

export interface Lora {
  name: string
  display_name: string
  base_model: string
  group: string
  available: boolean
  unavailable_reason?: string
  sort_order: number
  default_strength: number
  trigger_words: string[]
}

export interface LoraGroup {
  group: string
  loras: string[]
}

export interface LoraList extends ConfigMeta {
  model: string
  loras: Lora[]
  groups: LoraGroup[]
  grouped_by_model: Record<string, string[]>
}

/** listLoras returns the LoRAs usable with one model, in sort_order. */
export function listLoras(model: string): Promise<LoraList> {
  return request<LoraList>('/api/loras', { query: { model } })
}
