// Who is signed in to the admin console, and what their role allows.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import {
  getMe,
  login as apiLogin,
  logout as apiLogout,
  roleAtLeast,
  type Me,
  type Role,
} from '@/api/auth'
import { isApiError } from '@/api/client'

// The session cookie is HttpOnly, so the console remembers only that it
// signed in; without the mark it shows the sign-in page without asking.
const markKey = 'atelier.admin.signedIn'

function hasMark(): boolean {
  try {
    return localStorage.getItem(markKey) === '1'
  } catch {
    return false
  }
}

function setMark(on: boolean) {
  try {
    if (on) localStorage.setItem(markKey, '1')
    else localStorage.removeItem(markKey)
  } catch {
    // Storage refused: the console asks the server each time instead.
  }
}

export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null)
  /** True once the first check of the session is done. */
  const ready = ref(false)

  const signedIn = computed(() => me.value !== null)
  const role = computed<Role | undefined>(() => me.value?.role)

  /** can tells whether the signed-in role has the rights of min. */
  function can(min: Role): boolean {
    return roleAtLeast(role.value, min)
  }

  /** init reads the session when this browser signed in before. */
  async function init() {
    if (ready.value) return
    try {
      if (hasMark()) me.value = await getMe()
    } catch (err) {
      if (isApiError(err, 401)) setMark(false)
      me.value = null
    } finally {
      ready.value = true
    }
  }

  async function login(name: string, password: string) {
    const s = await apiLogin(name, password)
    me.value = { name: s.name, role: s.role, via: 'session' }
    setMark(true)
  }

  async function logout() {
    try {
      await apiLogout()
    } finally {
      forget()
    }
  }

  /** forget drops the session after the server said it is gone. */
  function forget() {
    me.value = null
    setMark(false)
  }

  return { me, ready, signedIn, role, can, init, login, logout, forget }
})
