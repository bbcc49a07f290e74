// Uploading a workflow file gives immediate feedback: a UI-format export is
// refused with the hint to export API format; an API-format one shows the
// injection points found.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launch, open, shot, signIn } from './browser'

const atelier = inject('atelier')
let browser: Browser

const shared = resolve(import.meta.dirname, '../../../shared/workflows')

/** A workflow in ComfyUI's UI format: the shared sample, or a small one. */
function uiWorkflow(): string {
  const sample = join(shared, 'ui_flux1-dev_fp8-checkpoint__replicate.json')
  if (existsSync(sample)) return sample
  const file = join(mkdtempSync(join(tmpdir(), 'atelier-wf-')), 'ui.json')
  writeFileSync(
    file,
    JSON.stringify({
      last_node_id: 2,
      last_link_id: 1,
      nodes: [
        { id: 1, type: 'CheckpointLoaderSimple', widgets_values: ['a.ckpt'] },
        { id: 2, type: 'SaveImage', widgets_values: ['out'] },
      ],
      links: [],
      version: 0.4,
    }),
  )
  return file
}

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

test('a UI-format workflow is refused with the export hint', async () => {
  const { page, errors, context } = await open(browser)
  await signIn(page, atelier.admin, 'admin', atelier.password)
  await page.getByTestId('nav-workflows').click()
  await page.getByTestId('edit-flux1-dev-workflow').click()
  const dialog = page.getByTestId('item-dialog')
  const nodesBefore = await dialog.getByTestId('workflow-nodes').textContent()

  await dialog.getByTestId('workflow-file').setInputFiles(uiWorkflow())
  const message = dialog.getByTestId('inspect-message')
  await message.waitFor()
  expect(await message.getAttribute('data-format')).toBe('ui')
  expect(await message.textContent()).toContain('Export (API)')
  // The refused file does not replace the graph in the form.
  expect(await dialog.getByTestId('workflow-nodes').textContent()).toBe(
    nodesBefore,
  )
  await shot(page, 'flow-workflow-refused', 'en')

  const api = join(
    shared,
    'api_flux1-dev_fp8-checkpoint_fluxguidance__replicate.json',
  )
  if (existsSync(api)) {
    await dialog.getByTestId('workflow-file').setInputFiles(api)
    await expect.poll(() => message.getAttribute('data-format')).toBe('api')
    expect(await dialog.locator('table').textContent()).toContain('prompt')
    await shot(page, 'flow-workflow-inspected', 'en')
  }
  expect(errors).toEqual([])
  await context.close()
})
