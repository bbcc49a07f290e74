// A user picks a model and a LoRA, generates with the simulator, watches
// the progress and gets the image. The ratio buttons show the size the
// chosen model really generates, and the progress bar never trails the
// percentage beside it.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launch, open, shot, waitFor } from './browser'

const atelier = inject('atelier')
let browser: Browser

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

test('generate an image with a LoRA and see it progress', async () => {
  const { page, errors, context } = await open(browser)
  await page.goto(atelier.studio)
  const flux = page.locator(
    '[data-testid="model-option"][data-model="flux1-dev"]',
  )
  await flux.waitFor()

  // SDXL rounds sizes to 8, Flux to 16: 3:4 is 888×1176 against 880×1184.
  const portrait = page.locator('[data-ratio="3:4"]')
  await page
    .locator('[data-testid="model-option"][data-model="sdxl-base"]')
    .click()
  await expect.poll(() => portrait.textContent()).toContain('888×1176')
  await flux.click()
  await expect.poll(() => flux.getAttribute('aria-checked')).toBe('true')
  await expect.poll(() => portrait.textContent()).toContain('880×1184')

  const lora = page.locator('[data-lora="flux/film-grain.safetensors"]')
  await lora.waitFor()
  await lora.locator('.el-checkbox').click()
  await lora.locator('.el-slider').waitFor()
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await lora.getByTestId('trigger-word').first().click()
  expect(await page.getByTestId('prompt').inputValue()).toBe(
    'a lighthouse at dusk, film grain',
  )
  await page.locator('[data-ratio="16:9"]').click()
  await page.getByTestId('steps-input').locator('input').fill('24')
  await page.getByTestId('steps-input').locator('input').press('Tab')
  await shot(page, 'flow-generate-form', 'en')

  const stage = page.getByTestId('stage')
  const before = await stage.boundingBox()
  const progress = page.getByTestId('progress')
  const submitted = page.waitForResponse((r) =>
    r.url().endsWith('/api/generate-image'),
  )
  await page.getByTestId('generate').click()
  const res = await submitted
  expect(res.status()).toBe(202)
  const body = (await res.request().postDataJSON()) as Record<string, unknown>
  expect(body).toMatchObject({
    model: 'flux1-dev',
    prompt: 'a lighthouse at dusk, film grain',
    ratio: '16:9',
    steps: 24,
    loras: [{ name: 'flux/film-grain.safetensors', strength: 0.6 }],
  })

  const sawRunning = await waitFor(
    async () => (await progress.getAttribute('data-status')) === 'running',
    10_000,
    20,
  )
  expect(sawRunning, 'the progress never showed a running job').toBe(true)
  // The bar and the number agree at every moment, not after an animation.
  const gaps: number[] = []
  await waitFor(
    async () => {
      const s = await progress.evaluate((el) => {
        const bar = el.querySelector('.el-progress-bar__inner')
        const track = el.querySelector('.el-progress-bar__outer')
        const pct = el.querySelector('[data-testid="progress-pct"]')
        if (!bar || !track || !pct) return null
        return {
          bar:
            (bar.getBoundingClientRect().width /
              track.getBoundingClientRect().width) *
            100,
          label: parseFloat(pct.textContent ?? ''),
          status: el.getAttribute('data-status'),
        }
      })
      if (s && s.status === 'running' && s.label > 0) {
        gaps.push(Math.abs(s.bar - s.label))
      }
      return s?.status !== 'running' || gaps.length >= 8
    },
    10_000,
    40,
  )
  expect(gaps.length, 'no progress was sampled').toBeGreaterThan(0)
  expect(Math.max(...gaps), `bar against label: ${gaps}`).toBeLessThan(1.5)
  await expect.poll(() => progress.textContent()).toMatch(/step \d+ of 24/)
  await shot(page, 'flow-generate-progress', 'en')
  // The stage keeps its size while the job runs and when it ends.
  expect(await stage.boundingBox()).toEqual(before)

  await expect
    .poll(() => progress.getAttribute('data-status'), { timeout: 15_000 })
    .toBe('succeeded')
  const img = page.getByTestId('result-image').first()
  await img.waitFor()
  await expect
    .poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth))
    .toBe(1360)
  expect(await stage.boundingBox()).toEqual(before)
  const href = await page.getByTestId('download').first().getAttribute('href')
  expect(href).toMatch(/^\/api\/images\/[0-9a-f-]+\/0$/)
  expect(await page.getByTestId('recent-job').count()).toBe(1)
  await shot(page, 'flow-generate-result', 'en')

  // Full-size view.
  await page.getByRole('button', { name: 'View image 1 full size' }).click()
  await page.locator('.el-image-viewer__wrapper').waitFor()
  await shot(page, 'flow-generate-full-size', 'en')
  await page.keyboard.press('Escape')

  expect(errors).toEqual([])
  await context.close()
})
