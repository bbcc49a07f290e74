import { request } from './client'
import type { ConfigSource } from './common'

export type JobStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost'

/** A job's final states: no event follows them. */
export const finalStatuses: readonly JobStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'lost',
]

export function isFinal(s: JobStatus): boolean {
  return finalStatuses.includes(s)
}

export interface LoraChoice {
  name: string
  strength?: number
}

/** What POST /api/generate-image takes. */
export interface GenerateRequest {
  prompt: string
  negative_prompt?: string
  model: string
  loras?: LoraChoice[]
  ratio?: string
  width?: number
  height?: number
  steps?: number
  cfg?: number
  guidance?: number
  /** An unsigned 64-bit number, so a string; absent means random. */
  seed?: string
  batch_size?: number
}

export interface Accepted {
  job_id: string
  status_url: string
  events_url: string
  status: JobStatus
}

export interface Job {
  id: string
  status: JobStatus
  progress: number
  step?: number
  steps?: number
  node?: string
  images: string[] | null
  error: { code: string; message: string } | null
  model: string
  workflow?: string
  loras?: string[] | null
  width: number
  height: number
  batch_size: number
  seed: string
  steps_requested?: number
  backend?: string
  prompt_id?: string
  config_version?: number
  config_source?: ConfigSource
  created_at: string
  started_at?: string
  finished_at?: string
}

/** generate submits a job; the answer says where to follow it. */
export function generate(req: GenerateRequest): Promise<Accepted> {
  return request<Accepted>('/api/generate-image', {
    method: 'POST',
    body: req,
  })
}

export function getJob(id: string): Promise<Job> {
  return request<Job>(`/api/jobs/${encodeURIComponent(id)}`)
}

export function cancelJob(id: string): Promise<Job> {
  return request<Job>(`/api/jobs/${encodeURIComponent(id)}/cancel`, {
    method: 'POST',
  })
}

/** The event names the job stream sends; each carries the job view. */
export const jobEvents: readonly JobStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'lost',
]

export interface JobWatch {
  close(): void
}

/**
 * watchJob follows a job's event stream, calling onJob with each view until
 * a final state, and onError when the stream breaks before one (the caller
 * may then poll getJob).
 */
export function watchJob(
  id: string,
  onJob: (job: Job) => void,
  onError: () => void,
): JobWatch {
  const es = new EventSource(`/api/jobs/${encodeURIComponent(id)}/events`)
  let done = false
  const handle = (ev: MessageEvent<string>) => {
    let job: Job
    try {
      job = JSON.parse(ev.data) as Job
    } catch {
      return
    }
    onJob(job)
    if (isFinal(job.status)) {
      done = true
      es.close()
    }
  }
  for (const name of [...jobEvents, 'progress', 'message']) {
    es.addEventListener(name, handle as EventListener)
  }
  es.onerror = () => {
    es.close()
    if (!done) onError()
  }
  return {
    close() {
      done = true
      es.close()
    },
  }
}
