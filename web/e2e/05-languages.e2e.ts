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

const words: Record<
  Locale,
  { generate: string; models: string; login: string }
> = {
  en: { generate: 'Generate', models: 'Models', login: 'sign-in' },
  'zh-CN': { generate: '生成', models: '模型', login: '登录' },
}

/** titleCut tells whether the console's page title is cut short. */
function titleCut(page: Page): Promise<boolean> {
  return page
    .locator('.page-title')
    .evaluate((el) => el.scrollWidth > el.clientWidth + 1)
}

/**
 * checkReleases checks the releases table: the first release offers no
 * diff with a previous one, and no hash hides under the fixed actions.
 */
async function checkReleases(page: Page) {
  await page.getByTestId('release-hash').first().waitFor()
  // Every release but the first (v1, the oldest row) has one before it.
  const rows = await page
    .getByTestId('release-table')
    .locator('tbody tr')
    .count()
  expect(await page.getByTestId('diff-prev-1').count()).toBe(0)
  expect(await page.locator('[data-testid^="diff-prev-"]').count()).toBe(
    rows - 1,
  )
  const hash = await page.getByTestId('release-hash').first().boundingBox()
  const actions = await page
    .getByTestId('release-table')
    .locator('tbody tr')
    .first()
    .locator('td.el-table-fixed-column--right')
    .boundingBox()
  expect(hash && actions, 'no hash or actions cell').toBeTruthy()
  expect((hash?.x ?? 0) + (hash?.width ?? 0)).toBeLessThanOrEqual(
    actions?.x ?? 0,
  )
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
    // Audit action codes are named in the language in use.
    const actions = page.getByTestId('audit-action-cell')
    await actions.first().waitFor()
    expect(await actions.allTextContents()).toContain(words[locale].login)
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
      if (name === 'admin-releases') await checkReleases(page)
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
    expect(await titleCut(page), 'the page title is cut').toBe(false)
    await shot(page, 'admin-phone', locale)

    // On a phone the models table keeps the name and the actions in view.
    await page.getByRole('button', { name: /menu|菜单/ }).click()
    await page.locator('.side-drawer').getByTestId('nav-models').click()
    await page.getByTestId('item-table').waitFor()
    await page.waitForTimeout(300)
    expect(await titleCut(page), 'the page title is cut').toBe(false)
    const id = page.getByTestId('item-table').getByText('flux1-dev', {
      exact: true,
    })
    expect(await id.isVisible()).toBe(true)
    const edit = page.getByTestId('edit-flux1-dev')
    const box = await edit.boundingBox()
    expect(box, 'no edit button').not.toBeNull()
    expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390)
    expect(await overflows(page), 'the console scrolls sideways').toBe(false)
    await shot(page, 'admin-models-phone', locale)

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
