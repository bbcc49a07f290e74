// Two apps, one config: `vite build --mode studio` and `--mode admin`.
// Each app's index.html lives in src/<app>/ and is built into dist/<app>/,
// which web/embed.go embeds into the Go binary.
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

interface App {
  base: string
  // Where `vite --mode <app>` proxies API calls during development.
  api: string
  port: number
}

const apps: Record<'studio' | 'admin', App> = {
  studio: {
    base: '/',
    api: process.env.ATELIER_DEV_API ?? 'http://127.0.0.1:8080',
    port: 5173,
  },
  admin: {
    base: '/admin/',
    api: process.env.ATELIER_DEV_ADMIN_API ?? 'http://127.0.0.1:8000',
    port: 5174,
  },
}

export default defineConfig(({ mode }) => {
  const name = mode === 'admin' ? 'admin' : 'studio'
  const app = apps[name]
  const src = fileURLToPath(new URL('./src', import.meta.url))
  return {
    root: `${src}/${name}`,
    base: app.base,
    publicDir: false,
    plugins: [vue()],
    resolve: { alias: { '@': src } },
    build: {
      outDir: fileURLToPath(new URL(`./dist/${name}`, import.meta.url)),
      emptyOutDir: true,
      // Element Plus is most of the bundle; it is served from the same
      // binary, so one larger chunk costs less than many requests.
      chunkSizeWarningLimit: 1200,
    },
    server: {
      port: app.port,
      proxy: { '/api': { target: app.api, changeOrigin: false } },
    },
  }
})
