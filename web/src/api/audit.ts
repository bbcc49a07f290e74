import { request } from './client'

export interface AuditEntry {
  id: number
  time: string
  actor: string
  source: string
  action: string
  target: string
  summary: string
}

export interface AuditPage {
  entries: AuditEntry[]
  next_cursor?: number
}

export interface AuditFilter {
  actor?: string
  action?: string
  /** RFC 3339. */
  since?: string
  limit?: number
  cursor?: number
}

/** The actions the admin service records, for the filter's suggestions. */
export const auditActions = [
  'login',
  'login.failed',
  'logout',
  'draft.save',
  'draft.import',
  'draft.conflict',
  'release.publish',
  'release.rollback',
  'release.refused',
  'access.denied',
  'user.create',
  'user.update',
  'user.delete',
  'token.create',
  'token.revoke',
] as const

/**
 * actionKey is the i18n key of an action code's name ("login.failed" →
 * "admin.audit.actions.login_failed"); message keys cannot hold dots.
 */
export function actionKey(code: string): string {
  return `admin.audit.actions.${code.replace(/[^a-zA-Z0-9]/g, '_')}`
}

export function listAudit(f: AuditFilter = {}): Promise<AuditPage> {
  return request<AuditPage>('/api/admin/audit', { query: { ...f } })
}
