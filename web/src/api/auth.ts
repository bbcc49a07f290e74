import { request } from './client'

export type Role = 'viewer' | 'editor' | 'publisher' | 'admin'

export const roles: readonly Role[] = ['viewer', 'editor', 'publisher', 'admin']

/** roleAtLeast tells whether role has the rights of min or more. */
export function roleAtLeast(role: Role | undefined, min: Role): boolean {
  if (!role) return false
  return roles.indexOf(role) >= roles.indexOf(min)
}

export interface Me {
  name: string
  role: Role
  via?: string
}

export interface Session {
  name: string
  role: Role
  expires_at: string
}

export function login(name: string, password: string): Promise<Session> {
  return request<Session>('/api/admin/login', {
    method: 'POST',
    body: { name, password },
  })
}

export function logout(): Promise<void> {
  return request<void>('/api/admin/logout', { method: 'POST' })
}

export function getMe(): Promise<Me> {
  return request<Me>('/api/admin/me')
}
