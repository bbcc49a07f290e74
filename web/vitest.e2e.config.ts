import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** ByName runs the flow files in the order their names give. */
class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId))
  }
}

// Browser flows: Playwright (playwright-core) driving Debian's Chromium
// against a real `atelier up` started by e2e/global-setup.ts. Run them
// after `make web build`; they build nothing themselves.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // One system under test: files run one after another, in name order.
    sequence: { concurrent: false, shuffle: false, sequencer: ByName },
  },
})
