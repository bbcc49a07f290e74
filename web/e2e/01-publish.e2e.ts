// An operator changes a model's sort_order and display name and publishes;
// a studio already open elsewhere shows the new order within two seconds,
// without a reload and without losing what its user typed.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launch, open, shot, signIn, waitFor } from './browser'

const atelier = inject('atelier')
let browser: Browser

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

test('a published model change reaches the open studio', async () => {
  const studio = await open(browser)
  await studio.page.goto(atelier.studio)
  const names = studio.page.getByTestId('model-name')
  await names.first().waitFor()
  expect(await names.allTextContents()).toEqual([
    'Flux.1 Dev',
    'SDXL Base 1.0',
    'Juggernaut XL',
  ])
  const prompt = studio.page.getByTestId('prompt')
  await prompt.fill('typed before the release')

  const admin = await open(browser)
  await admin.page.goto(`${atelier.admin}/admin/`)
  await admin.page.getByTestId('login-name').waitFor()
  await signIn(admin.page, atelier.admin, 'admin', atelier.password)
  await admin.page.getByTestId('current-release').waitFor()

  await admin.page.getByTestId('nav-models').click()
  await admin.page.getByTestId('edit-juggernaut-xl').click()
  const dialog = admin.page.getByTestId('item-dialog')
  // Markup in a display name must come out as text.
  await dialog.getByTestId('field-display_name').fill('Juggernaut <b>XL</b>')
  await dialog.getByTestId('field-sort_order').locator('input').fill('0')
  await shot(admin.page, 'flow-publish-model-edit', 'en')
  await dialog.getByTestId('item-save').click()
  await dialog.waitFor({ state: 'hidden' })
  await expect
    .poll(() =>
      admin.page
        .getByTestId('item-table')
        .locator('tbody tr')
        .first()
        .textContent(),
    )
    .toContain('Juggernaut <b>XL</b>')
  await shot(admin.page, 'flow-publish-models', 'en')

  await admin.page.getByTestId('publish-open').click()
  const publish = admin.page.getByTestId('publish-dialog')
  const diff = publish.getByTestId('diff')
  await expect.poll(() => diff.textContent()).toContain('juggernaut-xl')
  const diffText = (await diff.textContent()) ?? ''
  expect(diffText).toContain('sort_order')
  expect(diffText).toContain('display_name')
  // Editing one model must not rewrite the workflow graphs.
  expect(diffText).not.toContain('workflow_json')
  await publish.getByTestId('publish-message').fill('Juggernaut first')
  await shot(admin.page, 'flow-publish-dialog', 'en')

  const published = admin.page.waitForResponse(
    (r) =>
      r.url().endsWith('/api/admin/releases') &&
      r.request().method() === 'POST',
  )
  await publish.getByTestId('publish-confirm').click()
  const res = await published
  expect(res.status()).toBe(201)
  const at = Date.now()

  const followed = await waitFor(
    async () => (await names.first().textContent()) === 'Juggernaut <b>XL</b>',
    2000,
  )
  const took = Date.now() - at
  expect(followed, `studio still showed the old order after ${took} ms`).toBe(
    true,
  )
  expect(await names.allTextContents()).toEqual([
    'Juggernaut <b>XL</b>',
    'Flux.1 Dev',
    'SDXL Base 1.0',
  ])
  expect(await studio.page.getByTestId('model-list').locator('b').count()).toBe(
    0,
  )
  expect(await prompt.inputValue()).toBe('typed before the release')
  await shot(studio.page, 'flow-publish-studio-after', 'en')

  await admin.page.getByTestId('nav-releases').click()
  await admin.page
    .getByTestId('release-table')
    .getByText('Juggernaut first')
    .waitFor()
  await admin.page.getByTestId('diff-run').click()
  await admin.page.getByTestId('diff').first().waitFor()
  await shot(admin.page, 'flow-publish-releases-diff', 'en')

  // Rolling back publishes v1's content as v3; the studio follows again.
  await admin.page.getByTestId('rollback-1').click()
  const rolledBack = admin.page.waitForResponse((r) =>
    r.url().endsWith('/api/admin/releases/1/rollback'),
  )
  await admin.page.getByTestId('rollback-confirm').click()
  expect((await rolledBack).status()).toBe(201)
  const back = Date.now()
  const reverted = await waitFor(
    async () => (await names.first().textContent()) === 'Flux.1 Dev',
    2000,
  )
  expect(
    reverted,
    `studio kept v2 ${Date.now() - back} ms after rollback`,
  ).toBe(true)
  await admin.page
    .getByTestId('release-table')
    .getByText('rollback of v1')
    .waitFor()

  expect(studio.errors).toEqual([])
  expect(admin.errors).toEqual([])
  await studio.context.close()
  await admin.context.close()
})
