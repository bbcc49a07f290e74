import 'element-plus/dist/index.css'
import '@/shared/base.css'
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import { setUnauthorizedHandler } from '@/api/client'
import { i18n } from '@/i18n'
import { useSessionStore } from '@/stores/session'
import App from './App.vue'
import { createAdminRouter } from './router'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(i18n)
const router = createAdminRouter()
app.use(router)

// A session that ended (expired, signed out elsewhere) sends the operator
// back to the sign-in page, keeping where they were.
setUnauthorizedHandler(() => {
  const session = useSessionStore(pinia)
  if (!session.signedIn) return
  session.forget()
  const here = router.currentRoute.value
  void router.push({ name: 'login', query: { next: here.fullPath } })
})

app.mount('#app')
