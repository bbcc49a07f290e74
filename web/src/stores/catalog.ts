// The studio's view of the configuration: models, LoRAs of the chosen
// model, image-gen presets, the config client's status and the service's
// health. It polls status and health every second and refetches the lists
// when the version or source changes, or when ComfyUI backends come or go
// (which changes which models are available), so both show without a
// reload.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { errorMessage } from '@/api/client'
import type { ConfigSource } from '@/api/common'
import { getConfigStatus, type ConfigStatus } from '@/api/configStatus'
import { getHealth, type Health } from '@/api/health'
import { getImageGen, type ImageGen } from '@/api/imageGen'
import { listLoras, type Lora, type LoraGroup } from '@/api/loras'
import { listModels, type Model } from '@/api/models'

/** How often the config status is polled. */
export const statusPollMs = 1000

export const useCatalogStore = defineStore('catalog', () => {
  const models = ref<Model[]>([])
  const imageGen = ref<ImageGen | null>(null)
  const loras = ref<Lora[]>([])
  const loraGroups = ref<LoraGroup[]>([])
  /** The model the LoRA lists belong to. */
  const lorasModel = ref('')
  const lorasError = ref('')
  const lorasSource = ref<ConfigSource | ''>('')
  const lorasVersion = ref(0)

  const status = ref<ConfigStatus | null>(null)
  /** Set while the status cannot be read (the main service is down). */
  const statusError = ref('')
  /** The service's health; null until read or while it cannot be. */
  const health = ref<Health | null>(null)
  /** The version and source the lists were read at. */
  const loadedVersion = ref(0)
  const loadedSource = ref<ConfigSource | ''>('')
  /** Grows each time the lists are read again; watchers key on it. */
  const revision = ref(0)
  const loading = ref(false)
  const error = ref('')

  const availableModels = computed(() =>
    models.value.filter((m) => m.available),
  )

  function model(name: string): Model | undefined {
    return models.value.find((m) => m.name === name)
  }

  /** load reads models and image-gen settings. */
  async function load() {
    loading.value = true
    try {
      const [m, ig] = await Promise.all([listModels(), getImageGen()])
      models.value = [...m.models].sort((a, b) => a.sort_order - b.sort_order)
      imageGen.value = ig
      loadedVersion.value = m.config_version
      loadedSource.value = m.config_source
      error.value = ''
      revision.value++
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      loading.value = false
    }
  }

  let lorasSeq = 0

  /** loadLoras reads the LoRAs of one model; older answers are dropped. */
  async function loadLoras(name: string) {
    const seq = ++lorasSeq
    if (!name) {
      loras.value = []
      loraGroups.value = []
      lorasModel.value = ''
      return
    }
    try {
      const r = await listLoras(name)
      if (seq !== lorasSeq) return
      loras.value = r.loras ?? []
      loraGroups.value = r.groups ?? []
      lorasModel.value = name
      lorasSource.value = r.config_source
      lorasVersion.value = r.config_version
      lorasError.value = ''
    } catch (err) {
      if (seq !== lorasSeq) return
      loras.value = []
      loraGroups.value = []
      lorasModel.value = name
      lorasError.value = errorMessage(err)
    }
  }

  /** Which ComfyUI backends are up, as a comparable key. */
  function backendsKey(h: Health | null): string {
    return (h?.comfyui ?? [])
      .map((b) => `${b.url}=${b.up}`)
      .sort()
      .join(' ')
  }

  /** readHealth reads the health; it reports whether the backends changed. */
  async function readHealth(): Promise<boolean> {
    let h: Health | null
    try {
      h = await getHealth()
    } catch {
      h = null
    }
    const before = health.value
    health.value = h
    return !!before && !!h && backendsKey(before) !== backendsKey(h)
  }

  /**
   * checkStatus reads the config status and the health and, when the
   * version or source differs from the lists', or ComfyUI backends came or
   * went, reads the lists again. It reports whether they were reloaded.
   */
  async function checkStatus(): Promise<boolean> {
    const [moved, s] = await Promise.all([
      readHealth(),
      getConfigStatus().catch((err: unknown) => {
        statusError.value = errorMessage(err)
        return null
      }),
    ])
    if (!s) return false
    status.value = s
    statusError.value = ''
    if (
      s.version === loadedVersion.value &&
      s.source === loadedSource.value &&
      !error.value &&
      !moved
    ) {
      return false
    }
    await load()
    if (lorasModel.value) await loadLoras(lorasModel.value)
    return true
  }

  let timer: ReturnType<typeof setInterval> | undefined
  let checking = false

  /** startPolling checks the status now and then every interval. */
  function startPolling(intervalMs = statusPollMs) {
    stopPolling()
    const tick = async () => {
      if (checking) return
      checking = true
      try {
        await checkStatus()
      } finally {
        checking = false
      }
    }
    void tick()
    timer = setInterval(() => void tick(), intervalMs)
  }

  function stopPolling() {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
  }

  return {
    models,
    imageGen,
    loras,
    loraGroups,
    lorasModel,
    lorasError,
    lorasSource,
    lorasVersion,
    status,
    statusError,
    health,
    loadedVersion,
    loadedSource,
    revision,
    loading,
    error,
    availableModels,
    model,
    load,
    loadLoras,
    checkStatus,
    startPolling,
    stopPolling,
  }
})
