// With every ComfyUI backend down the studio says no model can run and
// why, instead of asking for a model, and its header badge shows the
// service degraded. This flow runs a copy of atelier of its own whose
// ComfyUI address answers nothing.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launch, open, shot } from './browser'
import { freePort, startAtelier, type Started } from './global-setup'

let browser: Browser
let down: Started | undefined

beforeAll(async () => {
  browser = await launch()
  // A port just found free has nothing listening on it.
  const closed = await freePort()
  down = await startAtelier({ COMFYUI_URL: `http://127.0.0.1:${closed}` })
})

afterAll(async () => {
  await browser?.close()
  await down?.stop()
})

test('the studio says no model can run while ComfyUI is down', async () => {
  if (!down) throw new Error('atelier did not start')
  const { page, errors, context } = await open(browser)
  await page.goto(down.atelier.studio)
  const banner = page.getByTestId('no-runnable-model')
  await banner.waitFor()
  expect(await banner.textContent()).toMatch(/No model can run now: .*ComfyUI/)
  expect(await page.getByTestId('blocked').textContent()).toMatch(
    /No model can run now/,
  )
  expect(await page.getByTestId('blocked').textContent()).not.toContain(
    'Choose a model first',
  )
  await page.getByTestId('prompt').fill('a lighthouse')
  expect(await page.getByTestId('generate').isDisabled()).toBe(true)

  const badge = page.locator('header.top [data-testid="config-badge"]')
  await expect.poll(() => badge.getAttribute('data-health')).toBe('degraded')
  expect(await badge.getAttribute('data-level')).toBe('warn')
  expect(await badge.textContent()).toContain('ComfyUI down')
  await shot(page, 'flow-comfyui-down', 'en')

  expect(errors).toEqual([])
  await context.close()
})
