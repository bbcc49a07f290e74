import { request } from './client'
import type { ConfigMeta } from './common'

export interface Size {
  width: number
  height: number
}

export interface SizeRatio extends Size {
  ratio: string
}

export interface ImageGen extends ConfigMeta {
  default_size: Size
  size_ratios: SizeRatio[]
  default_steps: number
  max_steps: number
  max_pixels: number
  max_batch: number
  size_multiple?: number
}

/** getImageGen returns the generation limits and presets of the config. */
export function getImageGen(): Promise<ImageGen> {
  return request<ImageGen>('/api/image-gen')
}
