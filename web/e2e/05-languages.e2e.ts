// Both languages render every main screen: the browser's language picks
// the first one, the header switch changes it without a reload. Each
// screen is saved as screenshots/<screen>-<locale>.png, at desktop and at
// phone width.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { launch, open, shot, signIn, type Locale } from './browser'

const atelier = inject('atelier')
let browser: Browser

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

const words: Record<Locale, { generate: string; models: string }> = {
  en: { generate: 'Generate', models: 'Models' },
  'zh-CN': { generate: '生成', models: '模型' },
}

/** overflows tells whether the page scrolls sideways. */
function overflows(page: Page): Promise<boolean> {
  return page.evaluate(
    () => document.documentElement.scrollWidth > window.innerWidth + 1,
  )
}

describe.each<Locale>(['en', 'zh-CN'])('in %s', (locale) => {
  test('the studio', async () => {
    const { page, errors, context } = await open(browser, { locale })
    await page.goto(atelier.studio)
    await page.getByTestId('model-name').first().waitFor()
    expect(await page.getAttribute('html', 'lang')).toBe(locale)
    expect((await page.getByTestId('generate').textContent())?.trim()).toBe(
      words[locale].generate,
    )
    await page
      .getByTestId('prompt')
      .fill(locale === 'en' ? 'a quiet harbour at dawn' : '黎明时宁静的港湾')
    await shot(page, 'studio', locale)
    await page.getByTestId('generate').click()
    await page.getByTestId('result-image').first().waitFor({ timeout: 15_000 })
    await shot(page, 'studio-result', locale)

    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(200)
    expect(await overflows(page), 'the studio scrolls sideways').toBe(false)
    await shot(page, 'studio-phone', locale)
    expect(errors).toEqual([])
    await context.close()
  })

  test('the admin console', async () => {
    const { page, errors, context } = await open(browser, { locale })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'])
    await page.goto(`${atelier.admin}/admin/`)
    await page.getByTestId('login-name').waitFor()
    expect(await page.getAttribute('html', 'lang')).toBe(locale)
    await shot(page, 'admin-login', locale)
    await signIn(page, atelier.admin, 'admin', atelier.password)
    await page.getByTestId('current-release').waitFor()
    expect(await page.getByTestId('nav-models').textContent()).toContain(
      words[locale].models,
    )
    await shot(page, 'admin-dashboard', locale)

    const screens: [string, string][] = [
      ['nav-models', 'admin-models'],
      ['nav-loras', 'admin-loras'],
      ['nav-workflows', 'admin-workflows'],
      ['nav-image-gen', 'admin-image-gen'],
      ['nav-releases', 'admin-releases'],
      ['nav-audit', 'admin-audit'],
      ['nav-users', 'admin-users'],
    ]
    for (const [nav, name] of screens) {
      await page.getByTestId(nav).click()
      await page.waitForLoadState('networkidle')
      await shot(page, name, locale)
    }

    await page.getByTestId('nav-loras').click()
    await page.getByTestId('edit-flux/film-grain.safetensors').click()
    await page.getByTestId('item-dialog').waitFor()
    await shot(page, 'admin-lora-edit', locale)
    await page.keyboard.press('Escape')

    await page.getByTestId('nav-tokens').click()
    await page.getByTestId('token-add').click()
    await page.getByTestId('new-token-name').fill(`robot-${locale}`)
    await page.getByTestId('new-token-save').click()
    const secret = page.getByTestId('new-token-secret')
    await secret.waitFor()
    expect(await secret.inputValue()).toMatch(/^atl_api_/)
    await page.getByTestId('copy-token').click()
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe(await secret.inputValue())
    await shot(page, 'admin-token-created', locale)
    await page.keyboard.press('Escape')
    await page.getByTestId('token-table').getByText(`robot-${locale}`).waitFor()
    await shot(page, 'admin-tokens', locale)

    await page.getByTestId('nav-dashboard').click()
    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(200)
    expect(await overflows(page), 'the console scrolls sideways').toBe(false)
    await shot(page, 'admin-phone', locale)

    expect(errors).toEqual([])
    await context.close()
  })
})

test('the header switch changes the language in place', async () => {
  const { page, errors, context } = await open(browser, { locale: 'en' })
  await page.goto(atelier.studio)
  const generate = page.getByTestId('generate')
  await generate.waitFor()
  await page.getByTestId('prompt').fill('kept across the switch')
  await page.getByTestId('locale-switch').click()
  await page.getByTestId('locale-zh-CN').click()
  await expect
    .poll(async () => (await generate.textContent())?.trim())
    .toBe('生成')
  expect(await page.getAttribute('html', 'lang')).toBe('zh-CN')
  expect(await page.getByTestId('prompt').inputValue()).toBe(
    'kept across the switch',
  )
  // The choice is remembered for the next visit.
  await page.reload()
  await expect
    .poll(async () => (await generate.textContent())?.trim())
    .toBe('生成')
  expect(errors).toEqual([])
  await context.close()
})
