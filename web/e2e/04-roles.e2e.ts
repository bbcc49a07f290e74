// A viewer reads the console but sees no control it may not use.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { adminApi, launch, open, shot, signIn } from './browser'

const atelier = inject('atelier')
let browser: Browser

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

test('a viewer cannot see the publish button', async () => {
  const api = await adminApi(atelier.admin, atelier.password)
  const made = await api('/api/admin/users', {
    method: 'POST',
    body: JSON.stringify({
      name: 'vera',
      role: 'viewer',
      password: 'viewer-password',
    }),
  })
  expect(made.status).toBe(201)

  const { page, errors, context } = await open(browser)
  await signIn(page, atelier.admin, 'vera', 'viewer-password')
  expect(await page.getByTestId('user-menu').textContent()).toContain('viewer')
  expect(await page.getByTestId('publish-open').count()).toBe(0)
  expect(await page.getByTestId('nav-users').count()).toBe(0)
  expect(await page.getByTestId('nav-tokens').count()).toBe(0)
  await shot(page, 'flow-viewer-dashboard', 'en')

  await page.getByTestId('nav-models').click()
  await page.getByTestId('item-table').waitFor()
  expect(await page.getByTestId('item-add').count()).toBe(0)
  expect(await page.locator('[data-testid^="delete-"]').count()).toBe(0)
  // Viewing an item opens a read-only form without a save button.
  await page.getByTestId('edit-flux1-dev').click()
  const dialog = page.getByTestId('item-dialog')
  await dialog.waitFor()
  expect(await dialog.getByTestId('item-save').count()).toBe(0)
  expect(await dialog.getByTestId('field-display_name').isDisabled()).toBe(true)
  await page.keyboard.press('Escape')

  await page.getByTestId('nav-releases').click()
  await page.getByTestId('release-table').waitFor()
  expect(await page.locator('[data-testid^="rollback-"]').count()).toBe(0)

  // The address of an admin-only page leads back to the dashboard.
  await page.goto(`${atelier.admin}/admin/users`)
  await page.getByTestId('current-release').waitFor()
  expect(new URL(page.url()).pathname).toBe('/admin/')

  expect(errors).toEqual([])
  await context.close()
})
