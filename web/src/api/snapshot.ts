// The configuration document the admin service edits and publishes. Its
// shape is the same everywhere (draft, releases, the local YAML file).
import type { Size } from './imageGen'
import type { ModelDefaults } from './models'

export interface ModelConfig {
  name: string
  display_name: string
  model_type: string
  file: string
  /** Omitted means true. */
  available?: boolean | null
  sort_order: number
  defaults?: ModelDefaults | null
}

export interface LoraConfig {
  name: string
  display_name: string
  base_model: string
  group: string
  available?: boolean | null
  sort_order: number
  /** Omitted means 1. */
  default_strength?: number | null
  trigger_words?: string[] | null
}

/** Explicit injection points: "node.input" or a list of them, by name. */
export type WorkflowParams = Record<string, string | string[]>

export interface WorkflowConfig {
  name: string
  base_model_type: string
  workflow_json?: Record<string, unknown> | null
  available?: boolean | null
  params?: WorkflowParams | null
}

export interface ImageGenConfig {
  default_size: Size
  size_ratios: string[]
  default_steps: number
  max_steps: number
  max_pixels: number
  max_batch: number
}

export interface Snapshot {
  schema_version: number
  models: ModelConfig[]
  loras: LoraConfig[]
  workflows: WorkflowConfig[]
  image_gen: ImageGenConfig
}

/** isOn reads an availability flag that defaults to true. */
export function isOn(v: boolean | null | undefined): boolean {
  return v === undefined || v === null || v
}

/** FieldChange is one changed field; before and after are JSON values. */
export interface FieldChange {
  field: string
  before: unknown
  after: unknown
}

export interface ItemChange {
  name: string
  fields: FieldChange[]
}

export interface SectionDiff {
  added: string[] | null
  removed: string[] | null
  changed: ItemChange[] | null
}

/** Diff is how one configuration differs from another. */
export interface Diff {
  models: SectionDiff
  loras: SectionDiff
  workflows: SectionDiff
  image_gen: FieldChange[] | null
}

export type SectionName = 'models' | 'loras' | 'workflows'

/** diffIsEmpty tells a diff that changes nothing. */
export function diffIsEmpty(d: Diff | null | undefined): boolean {
  if (!d) return true
  const sections: SectionName[] = ['models', 'loras', 'workflows']
  for (const s of sections) {
    const sd = d[s]
    if (
      (sd.added?.length ?? 0) +
        (sd.removed?.length ?? 0) +
        (sd.changed?.length ?? 0) >
      0
    ) {
      return false
    }
  }
  return (d.image_gen?.length ?? 0) === 0
}
