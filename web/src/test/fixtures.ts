// Answers of the main service, shaped as the real one gives them.
import type { ImageGen } from '@/api/imageGen'
import type { LoraList } from '@/api/loras'
import type { Model, ModelList } from '@/api/models'

export function models(version = 1, list?: Model[]): ModelList {
  return {
    models: list ?? [
      {
        name: 'sdxl-base',
        display_name: 'SDXL Base',
        model_type: 'sdxl',
        available: true,
        sort_order: 2,
        defaults: { steps: 25, cfg: 7 },
      },
      {
        name: 'flux1-dev',
        display_name: 'Flux.1 Dev',
        model_type: 'flux1',
        available: true,
        sort_order: 1,
        defaults: { steps: 20, cfg: 1, guidance: 3.5 },
      },
      {
        name: 'missing',
        display_name: 'Missing',
        model_type: 'sdxl',
        available: false,
        unavailable_reason: 'not installed on any ComfyUI backend',
        sort_order: 3,
      },
    ],
    missing: {},
    config_source: 'backend',
    config_version: version,
  }
}

export function imageGen(version = 1, maxSteps = 60): ImageGen {
  return {
    default_size: { width: 1024, height: 1024 },
    size_ratios: [
      { ratio: '1:1', width: 1024, height: 1024 },
      { ratio: '4:3', width: 1184, height: 880 },
      { ratio: '16:9', width: 1360, height: 768 },
    ],
    // SDXL rounds to 8, Flux to 16: their 4:3 differs.
    size_ratios_by_model: {
      'flux1-dev': [
        { ratio: '1:1', width: 1024, height: 1024 },
        { ratio: '4:3', width: 1184, height: 880 },
        { ratio: '16:9', width: 1360, height: 768 },
      ],
      'sdxl-base': [
        { ratio: '1:1', width: 1024, height: 1024 },
        { ratio: '4:3', width: 1176, height: 888 },
        { ratio: '16:9', width: 1360, height: 768 },
      ],
    },
    default_steps: 20,
    max_steps: maxSteps,
    max_pixels: 2097152,
    max_batch: 4,
    config_source: 'backend',
    config_version: version,
  }
}

export function health(up = true) {
  return {
    status: up ? 'healthy' : 'degraded',
    backend_connected: true,
    config_source: 'backend',
    config_version: 1,
    stale: false,
    comfyui: [
      up
        ? { url: 'http://gpu-1:8188', up: true }
        : { url: 'http://gpu-1:8188', up: false, error: 'connection refused' },
    ],
  }
}

export function loras(model: string, version = 1): LoraList {
  const all =
    model === 'flux1-dev'
      ? [
          {
            name: 'flux/grain.safetensors',
            display_name: 'Grain',
            base_model: 'flux1-dev',
            group: 'style',
            available: true,
            sort_order: 1,
            default_strength: 0.6,
            trigger_words: ['film grain'],
          },
        ]
      : []
  return {
    loras: all,
    model,
    groups: all.length
      ? [{ group: 'style', loras: all.map((l) => l.name) }]
      : [],
    grouped_by_model: {},
    config_source: 'backend',
    config_version: version,
  }
}

export function status(version = 1, source = 'backend') {
  return {
    source,
    version,
    hash: 'sha256:abc',
    backend_connected: source === 'backend',
    stale: false,
    last_config_update: '2026-01-01T00:00:00Z',
  }
}
