import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Unit tests: the API client, the stores and a few components, in a
// simulated DOM. The browser flows live in e2e/ (vitest.e2e.config.ts).
export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
    // The first mount of an Element Plus component on a cold cache is slow
    // on a busy two-core machine.
    testTimeout: 20_000,
  },
})
