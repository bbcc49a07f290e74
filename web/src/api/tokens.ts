import type { Role } from './auth'
import { request } from './client'

export type TokenKind = 'api' | 'sync'

export interface Token {
  id: number
  name: string
  kind: TokenKind
  role?: Role
  created_at: string
  created_by: string
  last_used_at?: string
  revoked_at?: string
}

/** A token just made: the only answer that carries its secret. */
export interface NewToken extends Token {
  token: string
  note?: string
}

export async function listTokens(): Promise<Token[]> {
  const r = await request<{ tokens: Token[] | null }>('/api/admin/tokens')
  return r.tokens ?? []
}

export function createToken(
  name: string,
  kind: TokenKind,
  role?: Role,
): Promise<NewToken> {
  return request<NewToken>('/api/admin/tokens', {
    method: 'POST',
    body: kind === 'api' ? { name, kind, role } : { name, kind },
  })
}

export function revokeToken(id: number): Promise<void> {
  return request<void>(`/api/admin/tokens/${id}`, { method: 'DELETE' })
}
