import { request } from './client'
import type { ConfigMeta } from './common'

/** A workflow as the main service lists it. */
export interface WorkflowSummary {
  name: string
  base_model_type: string
  models: string[]
  available: boolean
}

export interface WorkflowList extends ConfigMeta {
  workflows: WorkflowSummary[]
}

export function listWorkflows(): Promise<WorkflowList> {
  return request<WorkflowList>('/api/workflows')
}

export interface InjectionTarget {
  node: string
  class: string
  input: string
  value?: unknown
}

export interface InjectionPoint {
  name: string
  explicit?: boolean
  targets: InjectionTarget[] | null
  /** Why no target was found; absent when there are targets. */
  missing?: string
  /** Links that hide the point's value from the engine. */
  unresolved?: string[]
  notes?: string[]
}

/** The points a workflow must have to be usable; the others are optional. */
export const requiredPoints: readonly string[] = [
  'prompt',
  'seed',
  'width',
  'height',
  'model',
  'output',
]

/**
 * Points whose hidden links the engine refuses only when a request asks
 * for a value (they hold names, which a template may compute).
 */
export const namePoints: readonly string[] = ['sampler', 'scheduler']

export interface Inspection {
  points: InjectionPoint[]
  loader?: unknown
  loras?: unknown
}

export interface InspectResult {
  format: 'api' | 'ui' | 'unknown'
  ok: boolean
  message: string
  inspection?: Inspection
  problems: { field: string; message: string }[] | null
  workflow_json?: Record<string, unknown>
  params?: Record<string, unknown>
}

/**
 * inspectWorkflow asks the admin service what a workflow file is: its
 * format, the injection points found, or why it cannot be used.
 */
export function inspectWorkflow(
  file: string,
  params?: Record<string, unknown>,
): Promise<InspectResult> {
  return request<InspectResult>('/api/admin/workflows/inspect', {
    method: 'POST',
    body: file,
    headers: { 'Content-Type': 'application/json' },
    query: params ? { params: JSON.stringify(params) } : {},
  })
}
