// Saving an editor checks the item first: an invalid model stays out of
// the shared draft, its problems shown by the fields, and Cancel leaves
// the draft as it was. Problems elsewhere in the draft do not block a
// save.
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

interface Draft {
  revision: number
  config: { loras: { base_model: string }[] }
}

test('an invalid item is not saved; problems elsewhere do not block', async () => {
  const api = await adminApi(atelier.admin, atelier.password)
  const draftRev = async () =>
    ((await (await api('/api/admin/draft')).json()) as Draft).revision
  const { page, errors, context } = await open(browser)
  await signIn(page, atelier.admin, 'admin', atelier.password)
  await page.getByTestId('nav-models').click()
  await page.getByTestId('item-table').waitFor()
  const before = await draftRev()

  await page.getByTestId('edit-sdxl-base').click()
  const dialog = page.getByTestId('item-dialog')
  await dialog.getByTestId('field-display_name').fill('')
  await dialog.getByTestId('field-file').fill('')
  const checked = page.waitForResponse((r) =>
    r.url().endsWith('/api/admin/draft/validate'),
  )
  await dialog.getByTestId('item-save').click()
  expect((await checked).status()).toBe(200)
  const nameItem = dialog.locator('[data-field="display_name"]')
  await nameItem.locator('.el-form-item__error').waitFor()
  expect(
    await dialog.locator('[data-field="file"] .el-form-item__error').count(),
  ).toBe(1)
  expect(await dialog.isVisible()).toBe(true)
  await shot(page, 'flow-invalid-save', 'en')
  expect(await draftRev()).toBe(before)

  await dialog.getByRole('button', { name: 'Cancel' }).click()
  await dialog.waitFor({ state: 'hidden' })
  expect(
    await page.getByTestId('item-table').getByText('SDXL Base 1.0').count(),
  ).toBe(1)
  expect(await draftRev()).toBe(before)
  expect(await page.getByTestId('draft-state').textContent()).not.toMatch(
    /problem/,
  )

  // A LoRA made invalid behind the console's back: editing a model still
  // saves, and says the draft has a problem elsewhere.
  const d = (await (await api('/api/admin/draft')).json()) as Draft & {
    config: Record<string, unknown>
  }
  const original = structuredClone(d.config)
  const lora = d.config.loras[0]
  if (!lora) throw new Error('the starter config has no LoRA')
  lora.base_model = 'no-such-model'
  const put = await api('/api/admin/draft', {
    method: 'PUT',
    headers: { 'If-Match': `"${d.revision}"` },
    body: JSON.stringify(d.config),
  })
  expect(put.status).toBe(200)

  await page.reload()
  await page.getByTestId('item-table').waitFor()
  await page.getByTestId('edit-juggernaut-xl').click()
  await dialog.getByTestId('field-display_name').fill('Juggernaut XL 9')
  await dialog.getByTestId('item-save').click()
  await dialog.waitFor({ state: 'hidden' })
  await page.getByText(/still has 1 problem elsewhere/).waitFor()
  await page.getByTestId('item-table').getByText('Juggernaut XL 9').waitFor()

  // Put the draft back as it was.
  const now = await draftRev()
  const back = await api('/api/admin/draft', {
    method: 'PUT',
    headers: { 'If-Match': `"${now}"` },
    body: JSON.stringify(original),
  })
  expect(back.status).toBe(200)
  expect(((await back.json()) as { valid: boolean }).valid).toBe(true)

  expect(errors).toEqual([])
  await context.close()
})
