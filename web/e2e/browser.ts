// Playwright on Debian's Chromium: launching, pages that record console
// errors, screenshots, and the few steps several flows share.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
} from 'playwright-core'

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const screenshotDir = resolve(import.meta.dirname, 'screenshots')

export type Locale = 'en' | 'zh-CN'

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** A page with the console errors and uncaught exceptions it produced. */
export interface Tab {
  context: BrowserContext
  page: Page
  errors: string[]
}

export interface TabOptions {
  locale?: Locale
  width?: number
  height?: number
}

/** open makes a fresh browser context (its own cookies) and one page. */
export async function open(
  browser: Browser,
  opts: TabOptions = {},
): Promise<Tab> {
  const locale = opts.locale ?? 'en'
  const context = await browser.newContext({
    locale,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    acceptDownloads: true,
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
  return { context, page, errors }
}

/** shot saves a screenshot as screenshots/<name>-<locale>.png. */
export async function shot(page: Page, name: string, locale: Locale) {
  mkdirSync(screenshotDir, { recursive: true })
  // Let transitions and toasts settle so the picture shows the screen.
  await page.waitForTimeout(350)
  await page.screenshot({ path: join(screenshotDir, `${name}-${locale}.png`) })
}

/** signIn signs in to the admin console on page. */
export async function signIn(
  page: Page,
  adminUrl: string,
  name: string,
  password: string,
) {
  await page.goto(`${adminUrl}/admin/`)
  await page.getByTestId('login-name').fill(name)
  await page.getByTestId('login-password').fill(password)
  await page.getByTestId('login-submit').click()
  await page.getByTestId('nav-dashboard').waitFor()
}

/** adminApi signs in over HTTP and returns a fetch with the session. */
export async function adminApi(adminUrl: string, password: string) {
  const res = await fetch(`${adminUrl}/api/admin/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'admin', password }),
  })
  if (!res.ok) throw new Error(`admin login: ${res.status} ${await res.text()}`)
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  return (path: string, init: RequestInit = {}) =>
    fetch(`${adminUrl}${path}`, {
      ...init,
      headers: {
        'Content-Type': 'application/json',
        ...(init.headers as Record<string, string> | undefined),
        Cookie: cookie,
      },
    })
}

/** waitFor polls check until it returns true or timeout ms pass. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeout: number,
  interval = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeout
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, interval))
  }
}
