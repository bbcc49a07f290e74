import type { Role } from './auth'
import { request } from './client'

export interface User {
  name: string
  role: Role
  disabled: boolean
  created_at: string
}

export interface UserChange {
  role?: Role
  password?: string
  disabled?: boolean
}

export async function listUsers(): Promise<User[]> {
  return (
    (await request<{ users: User[] | null }>('/api/admin/users')).users ?? []
  )
}

export function createUser(
  name: string,
  role: Role,
  password: string,
): Promise<{ name: string; role: Role }> {
  return request('/api/admin/users', {
    method: 'POST',
    body: { name, role, password },
  })
}

export function updateUser(name: string, change: UserChange): Promise<User> {
  return request<User>(`/api/admin/users/${encodeURIComponent(name)}`, {
    method: 'PATCH',
    body: change,
  })
}

export function deleteUser(name: string): Promise<void> {
  return request<void>(`/api/admin/users/${encodeURIComponent(name)}`, {
    method: 'DELETE',
  })
}
