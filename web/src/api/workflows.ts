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
  missing?: boolean
  unresolved?: boolean
}

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
