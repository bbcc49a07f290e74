// Starts `bin/atelier up` (built by `make build` with the UI embedded) in a
// temporary folder on free ports, waits until both services are ready, and
// stops it when the run ends. startAtelier is exported for flows that need
// a copy of their own (one whose ComfyUI is down, say).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestProject } from 'vitest/node'
import { chromiumPath } from './browser'

export interface Atelier {
  studio: string
  admin: string
  password: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    atelier: Atelier
  }
}

const binary = resolve(import.meta.dirname, '../../bin/atelier')

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.once('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => ok(port))
    })
  })
}

async function waitReady(url: string, proc: ChildProcess, log: string) {
  const deadline = Date.now() + 30_000
  let last = ''
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break
    try {
      const res = await fetch(`${url}/readyz`)
      if (res.ok) return
      last = `${res.status}`
    } catch (err) {
      last = String(err)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n')
  throw new Error(
    `atelier did not become ready at ${url}/readyz (last: ${last}); ` +
      `its log:\n${tail}`,
  )
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return done()
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5000)
    proc.once('exit', () => {
      clearTimeout(kill)
      done()
    })
    proc.kill('SIGTERM')
  })
}

/** A running copy of atelier up and how to stop it. */
export interface Started {
  atelier: Atelier
  stop: () => Promise<void>
}

/**
 * startAtelier runs `atelier up` in a new temporary folder on free ports
 * with the given settings on top of the caller's environment, and waits
 * until both services answer /readyz.
 */
export async function startAtelier(
  settings: Record<string, string> = {},
): Promise<Started> {
  if (!existsSync(binary)) {
    throw new Error(
      `${binary} is missing: run 'make web build' first ` +
        "(or 'make test', which does)",
    )
  }
  const dir = mkdtempSync(join(tmpdir(), 'atelier-e2e-'))
  const [main, admin, comfy] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const password = randomBytes(12).toString('hex')
  const log = join(dir, 'atelier.log')
  const out = openSync(log, 'a')
  // Settings from the caller's environment that would point this copy at
  // other services or files are left out.
  const env = { ...process.env }
  for (const name of [
    'COMFYUI_URL',
    'BACKEND_CONFIG_URL',
    'BACKEND_CONFIG_TOKEN',
    'BACKEND_CONFIG_TOKEN_FILE',
    'ATELIER_ADMIN_DB',
    'ATELIER_CACHE_DIR',
    'ATELIER_LOCAL_CONFIG',
  ]) {
    delete env[name]
  }
  const proc = spawn(binary, ['up', '--data', join(dir, 'data')], {
    cwd: dir,
    env: {
      ...env,
      ATELIER_ADDR: `127.0.0.1:${main}`,
      ATELIER_ADMIN_ADDR: `127.0.0.1:${admin}`,
      ATELIER_COMFYSIM_ADDR: `127.0.0.1:${comfy}`,
      ATELIER_ADMIN_PASSWORD: password,
      ATELIER_LOG_LEVEL: 'warn',
      ...settings,
    },
    stdio: ['ignore', out, out],
  })
  const atelier: Atelier = {
    studio: `http://127.0.0.1:${main}`,
    admin: `http://127.0.0.1:${admin}`,
    password,
  }
  try {
    await waitReady(atelier.admin, proc, log)
    await waitReady(atelier.studio, proc, log)
  } catch (err) {
    await stop(proc)
    throw err
  }
  return {
    atelier,
    stop: async () => {
      await stop(proc)
      if (!process.env.ATELIER_E2E_KEEP) {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

export default async function setup(project: TestProject) {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is missing at ${chromiumPath}: install it with ` +
        "'apt-get install -y chromium' (the browser tests need it)",
    )
  }
  const started = await startAtelier()
  project.provide('atelier', started.atelier)
  return started.stop
}
