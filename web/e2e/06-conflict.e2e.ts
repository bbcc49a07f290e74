// Two operators edit the draft at once: the second save is refused, the
// console shows who changed what and reloads without losing the edit.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launch, open, shot, signIn } from './browser'

const atelier = inject('atelier')
let browser: Browser

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

async function editName(page: Page, model: string, name: string) {
  await page.getByTestId(`edit-${model}`).click()
  const dialog = page.getByTestId('item-dialog')
  await dialog.getByTestId('field-display_name').fill(name)
  return dialog
}

test('a stale save shows what changed and offers a reload', async () => {
  const ann = await open(browser)
  const bob = await open(browser)
  for (const op of [ann, bob]) {
    await signIn(op.page, atelier.admin, 'admin', atelier.password)
    await op.page.getByTestId('nav-models').click()
    await op.page.getByTestId('item-table').waitFor()
  }

  const annDialog = await editName(ann.page, 'sdxl-base', 'SDXL by Ann')
  const bobDialog = await editName(bob.page, 'sdxl-base', 'SDXL by Bob')
  await bobDialog.getByTestId('item-save').click()
  await bobDialog.waitFor({ state: 'hidden' })

  await annDialog.getByTestId('item-save').click()
  const conflict = ann.page.getByTestId('conflict-dialog')
  await conflict.waitFor()
  const text = (await conflict.textContent()) ?? ''
  expect(text).toContain('admin saved the draft')
  expect(text).toContain('"SDXL by Ann"')
  expect(text).toContain('"SDXL by Bob"')
  await shot(ann.page, 'flow-conflict', 'en')

  await conflict.getByTestId('conflict-reload').click()
  await conflict.waitFor({ state: 'hidden' })
  // The editor kept what Ann typed; saving now applies it on Bob's draft.
  expect(await annDialog.getByTestId('field-display_name').inputValue()).toBe(
    'SDXL by Ann',
  )
  await annDialog.getByTestId('item-save').click()
  await annDialog.waitFor({ state: 'hidden' })
  await ann.page.getByTestId('item-table').getByText('SDXL by Ann').waitFor()

  // Put the model back as it was.
  const restore = await editName(ann.page, 'sdxl-base', 'SDXL Base 1.0')
  await restore.getByTestId('item-save').click()
  await restore.waitFor({ state: 'hidden' })
  await ann.page.getByTestId('item-table').getByText('SDXL Base 1.0').waitFor()

  expect(ann.errors.filter((e) => !e.includes('409'))).toEqual([])
  expect(bob.errors).toEqual([])
  await ann.context.close()
  await bob.context.close()
})
