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
  /** The presets at the coarsest rounding any available model needs. */
  size_ratios: SizeRatio[]
  /**
   * The presets as a generation with each model really gets them: every
   * family rounds to its own multiple (SDXL to 8, Flux and SD3 to 16).
   */
  size_ratios_by_model?: Record<string, SizeRatio[]>
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
