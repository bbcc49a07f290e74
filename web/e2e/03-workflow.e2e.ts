// Uploading a workflow file gives immediate feedback: a UI-format export is
// refused with the hint to export API format; an API-format one shows the
// injection points found, optional ones it lacks as simply not there; a
// graph loading another model's file moves "For model" and says so; a
// file that is not JSON says that, in words.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { adminApi, launch, open, shot, signIn } from './browser'

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

/** A small SDXL text-to-image graph in API format (it has no guidance). */
function sdxlGraph(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'atelier-wf-')), 'sdxl.json')
  const graph = {
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: 0,
        steps: 20,
        cfg: 8,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '4': {
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' },
    },
    '5': {
      class_type: 'EmptyLatentImage',
      inputs: { width: 1024, height: 1024, batch_size: 1 },
    },
    '6': {
      class_type: 'CLIPTextEncode',
      inputs: { text: 'a', clip: ['4', 1] },
    },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
    '8': {
      class_type: 'VAEDecode',
      inputs: { samples: ['3', 0], vae: ['4', 2] },
    },
    '9': {
      class_type: 'SaveImage',
      inputs: { filename_prefix: 'x', images: ['8', 0] },
    },
  }
  writeFileSync(file, JSON.stringify(graph))
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

test('optional points, For model and non-JSON files', async () => {
  const api = await adminApi(atelier.admin, atelier.password)
  const draftRev = async () =>
    ((await (await api('/api/admin/draft')).json()) as { revision: number })
      .revision
  const rev = await draftRev()
  const { page, errors, context } = await open(browser)
  await signIn(page, atelier.admin, 'admin', atelier.password)
  await page.getByTestId('nav-workflows').click()
  await page.getByTestId('edit-flux1-dev-workflow').click()
  const dialog = page.getByTestId('item-dialog')
  const base = dialog.locator('[data-field="base_model_type"]')
  expect(await base.textContent()).toContain('flux1')

  await dialog.getByTestId('workflow-file').setInputFiles(sdxlGraph())
  const message = dialog.getByTestId('inspect-message')
  await expect.poll(() => message.getAttribute('data-format')).toBe('api')
  expect(await message.textContent()).toContain(
    'every required injection point was found',
  )
  const guidance = dialog.locator('[data-point="guidance"]')
  expect(await guidance.getAttribute('data-state')).toBe('absent')
  expect(await guidance.textContent()).toContain('not in this graph')
  // Absent optional points are not painted as errors.
  expect(await guidance.locator('td').first().evaluate(bg)).toBe(
    await dialog.locator('[data-point="prompt"] td').first().evaluate(bg),
  )
  const note = dialog.getByTestId('base-note')
  expect(await note.getAttribute('data-kind')).toBe('changed')
  expect(await note.textContent()).toContain('sd_xl_base_1.0.safetensors')
  await expect.poll(() => base.textContent()).toContain('sdxl')
  await shot(page, 'flow-workflow-optional', 'en')

  const notJson = join(mkdtempSync(join(tmpdir(), 'atelier-wf-')), 'x.json')
  writeFileSync(notJson, 'this is not { json')
  await dialog.getByTestId('workflow-file').setInputFiles(notJson)
  await dialog.getByText('“x.json” is not a JSON file.').waitFor()
  expect(await dialog.textContent()).not.toMatch(/Unexpected|invalid char/)

  // Nothing was saved: Cancel leaves the draft as it was.
  await dialog.getByRole('button', { name: 'Cancel' }).click()
  await dialog.waitFor({ state: 'hidden' })
  expect(await draftRev()).toBe(rev)
  expect(
    await page
      .getByTestId('item-table')
      .getByText('flux1-dev-workflow')
      .count(),
  ).toBe(1)
  expect(errors).toEqual([])
  await context.close()
})

function bg(el: Element): string {
  return getComputedStyle(el).backgroundColor
}
