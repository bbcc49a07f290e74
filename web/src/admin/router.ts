// The console's pages. Pages above a role are hidden from the menu and
// refused here too; the server checks every request again.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import type { Role } from '@/api/auth'
import { useSessionStore } from '@/stores/session'

declare module 'vue-router' {
  interface RouteMeta {
    /** The i18n key of the page title. */
    title?: string
    /** The least role that may open the page. */
    role?: Role
    public?: boolean
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('./views/LoginView.vue'),
    meta: { public: true, title: 'admin.login.title' },
  },
  {
    path: '/',
    name: 'dashboard',
    component: () => import('./views/DashboardView.vue'),
    meta: { title: 'admin.nav.dashboard' },
  },
  {
    path: '/models',
    name: 'models',
    component: () => import('./views/ModelsView.vue'),
    meta: { title: 'admin.nav.models' },
  },
  {
    path: '/loras',
    name: 'loras',
    component: () => import('./views/LorasView.vue'),
    meta: { title: 'admin.nav.loras' },
  },
  {
    path: '/workflows',
    name: 'workflows',
    component: () => import('./views/WorkflowsView.vue'),
    meta: { title: 'admin.nav.workflows' },
  },
  {
    path: '/image-gen',
    name: 'image-gen',
    component: () => import('./views/ImageGenView.vue'),
    meta: { title: 'admin.nav.imageGen' },
  },
  {
    path: '/releases',
    name: 'releases',
    component: () => import('./views/ReleasesView.vue'),
    meta: { title: 'admin.nav.releases' },
  },
  {
    path: '/audit',
    name: 'audit',
    component: () => import('./views/AuditView.vue'),
    meta: { title: 'admin.nav.audit' },
  },
  {
    path: '/users',
    name: 'users',
    component: () => import('./views/UsersView.vue'),
    meta: { title: 'admin.nav.users', role: 'admin' },
  },
  {
    path: '/tokens',
    name: 'tokens',
    component: () => import('./views/TokensView.vue'),
    meta: { title: 'admin.nav.tokens', role: 'admin' },
  },
  { path: '/:rest(.*)*', redirect: '/' },
]

export function createAdminRouter() {
  const router = createRouter({
    history: createWebHistory(import.meta.env.BASE_URL),
    routes,
  })
  router.beforeEach(async (to) => {
    const session = useSessionStore()
    await session.init()
    if (to.meta.public) {
      return session.signedIn && to.name === 'login'
        ? { name: 'dashboard' }
        : true
    }
    if (!session.signedIn) {
      return {
        name: 'login',
        query: to.fullPath !== '/' ? { next: to.fullPath } : {},
      }
    }
    if (to.meta.role && !session.can(to.meta.role)) return { name: 'dashboard' }
    return true
  })
  return router
}
