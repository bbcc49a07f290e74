// The studio keeps its form for the browser session: leaving and coming
// back finds the prompt and settings as they were. Prompts stop at the
// service's limit with a counter, and a refused request is reported once,
// without moving the results.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { launch, open, shot } from './browser'

const atelier = inject('atelier')
let browser: Browser

beforeAll(async () => {
  browser = await launch()
})

afterAll(async () => {
  await browser?.close()
})

test('the form survives leaving the studio and coming back', async () => {
  const { page, errors, context } = await open(browser)
  await page.goto(atelier.studio)
  const sdxl = page.locator(
    '[data-testid="model-option"][data-model="sdxl-base"]',
  )
  await sdxl.click()
  await page.getByTestId('prompt').fill('a quiet harbour')
  await page.getByTestId('negative-prompt').fill('people')
  await page.locator('[data-ratio="3:4"]').click()
  await page.getByTestId('steps-input').locator('input').fill('31')
  await page.getByTestId('steps-input').locator('input').press('Tab')
  await page.getByRole('button', { name: 'Roll a new seed' }).click()
  await page.getByTestId('seed-input').fill('12345')

  await page.goto(`${atelier.studio}/api/health`)
  await page.goto(atelier.studio)
  await page.getByTestId('model-name').first().waitFor()
  await expect.poll(() => sdxl.getAttribute('aria-checked')).toBe('true')
  expect(await page.getByTestId('prompt').inputValue()).toBe('a quiet harbour')
  expect(await page.getByTestId('negative-prompt').inputValue()).toBe('people')
  expect(
    await page.locator('[data-ratio="3:4"]').getAttribute('class'),
  ).toContain('is-active')
  expect(
    await page.getByTestId('steps-input').locator('input').inputValue(),
  ).toBe('31')
  expect(await page.getByTestId('seed-input').inputValue()).toBe('12345')

  // Another browser session starts afresh.
  const other = await open(browser)
  await other.page.goto(atelier.studio)
  await other.page.getByTestId('model-name').first().waitFor()
  expect(await other.page.getByTestId('prompt').inputValue()).toBe('')
  await other.context.close()

  expect(errors).toEqual([])
  await context.close()
})

test('a huge prompt stops at the limit; a refusal shows once', async () => {
  const { page, errors, context } = await open(browser)
  await page.goto(atelier.studio)
  await page.getByTestId('model-name').first().waitFor()
  const prompt = page.getByTestId('prompt')
  await prompt.fill('x'.repeat(10_050))
  expect((await prompt.inputValue()).length).toBe(10_000)
  await expect
    .poll(() => page.locator('.el-input__count').first().textContent())
    .toBe('10000 / 10000')
  expect(await page.getByTestId('generate').isDisabled()).toBe(false)
  await shot(page, 'flow-studio-long-prompt', 'en')

  // The service refuses with a problem of the prompt: the message shows
  // once, and nothing below the prompt panel moves.
  const stage = page.getByTestId('stage')
  const before = await stage.boundingBox()
  await page.route('**/api/generate-image', (route) =>
    route.fulfill({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({
        error: {
          code: 'invalid_request',
          message:
            'the request cannot be generated: prompt: longer than 10000 characters',
          details: [
            { field: 'prompt', message: 'longer than 10000 characters' },
          ],
          request_id: 'r1',
        },
      }),
    }),
  )
  await page.getByTestId('generate').click()
  const line = page.getByTestId('submit-error')
  await expect
    .poll(() => line.textContent())
    .toContain('longer than 10000 characters')
  const panel = (await page.locator('.prompt').textContent()) ?? ''
  expect(panel.split('longer than 10000 characters')).toHaveLength(2)
  expect(await stage.boundingBox()).toEqual(before)

  errors.splice(
    0,
    errors.length,
    ...errors.filter((e) => !e.includes('400 (Bad Request)')),
  )
  expect(errors).toEqual([])
  await context.close()
})
