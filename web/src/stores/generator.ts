// The studio's generation form and this browser session's jobs. Defaults
// come from the config (per model, then image_gen); a new release keeps
// what the user typed and only corrects what no longer fits.
import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import { ApiError, errorMessage } from '@/api/client'
import type { FieldProblem } from '@/api/common'
import {
  cancelJob,
  generate as submit,
  getJob,
  isFinal,
  watchJob,
  type GenerateRequest,
  type Job,
  type JobWatch,
} from '@/api/jobs'
import type { Model } from '@/api/models'
import { useCatalogStore } from './catalog'

export type SeedMode = 'random' | 'fixed'

export interface LoraPick {
  name: string
  strength: number
}

export interface GenerateForm {
  prompt: string
  negative: string
  model: string
  loras: LoraPick[]
  ratio: string
  steps: number
  cfg: number | null
  guidance: number | null
  seedMode: SeedMode
  seed: string
  batch: number
}

/** A job started from this browser session. */
export interface JobEntry {
  id: string
  prompt: string
  model: string
  createdAt: string
  job: Job | null
  /** Set when the job could not be followed. */
  followError?: string
}

const maxSeed = (1n << 64n) - 1n
const storageKey = 'atelier.jobs'
/** How many of this session's jobs are kept. */
export const maxJobs = 24

/** seedValid tells whether s is an unsigned 64-bit decimal number. */
export function seedValid(s: string): boolean {
  if (!/^\d{1,20}$/.test(s)) return false
  return BigInt(s) <= maxSeed
}

/** randomSeed draws a seed the way the service would. */
export function randomSeed(): string {
  const a = new Uint32Array(2)
  crypto.getRandomValues(a)
  const hi = BigInt(a[0] ?? 0)
  const lo = BigInt(a[1] ?? 0)
  return ((hi << 32n) | lo).toString()
}

/** usesGuidance tells the model families that take a guidance value. */
export function usesGuidance(m: Model | undefined): boolean {
  if (!m) return false
  return m.defaults?.guidance !== undefined || m.model_type.startsWith('flux')
}

function loadJobs(): JobEntry[] {
  try {
    const raw = sessionStorage.getItem(storageKey)
    if (!raw) return []
    const v = JSON.parse(raw) as unknown
    return Array.isArray(v) ? (v as JobEntry[]).slice(0, maxJobs) : []
  } catch {
    return []
  }
}

function saveJobs(jobs: JobEntry[]) {
  try {
    sessionStorage.setItem(storageKey, JSON.stringify(jobs))
  } catch {
    // Storage full or refused: the list still works for this page.
  }
}

export const useGeneratorStore = defineStore('generator', () => {
  const catalog = useCatalogStore()

  const form = reactive<GenerateForm>({
    prompt: '',
    negative: '',
    model: '',
    loras: [],
    ratio: '',
    steps: 20,
    cfg: null,
    guidance: null,
    seedMode: 'random',
    seed: '',
    batch: 1,
  })

  const jobs = ref<JobEntry[]>(loadJobs())
  /** The job the result area shows. */
  const selectedId = ref(jobs.value[0]?.id ?? '')
  const submitting = ref(false)
  const submitError = ref('')
  const fieldErrors = ref<Record<string, string>>({})

  const selectedModel = computed(() => catalog.model(form.model))
  const selected = computed(() =>
    jobs.value.find((j) => j.id === selectedId.value),
  )
  const running = computed(() =>
    jobs.value.some((j) => !j.job || !isFinal(j.job.status)),
  )
  const maxSteps = computed(() => catalog.imageGen?.max_steps ?? 150)
  const maxBatch = computed(() => catalog.imageGen?.max_batch ?? 1)
  const ratios = computed(() => catalog.imageGen?.size_ratios ?? [])
  const selectedRatio = computed(() =>
    ratios.value.find((r) => r.ratio === form.ratio),
  )
  const seedError = computed(
    () => form.seedMode === 'fixed' && !seedValid(form.seed.trim()),
  )
  const canGenerate = computed(
    () =>
      !submitting.value &&
      form.prompt.trim() !== '' &&
      !!selectedModel.value?.available &&
      !seedError.value,
  )

  function defaultRatio(): string {
    const ig = catalog.imageGen
    if (!ig) return ''
    const d = ig.default_size
    const same = ig.size_ratios.find(
      (r) => r.width === d.width && r.height === d.height,
    )
    return (same ?? ig.size_ratios[0])?.ratio ?? ''
  }

  /** applyModelDefaults sets steps, cfg and guidance for the model. */
  function applyModelDefaults() {
    const m = selectedModel.value
    const ig = catalog.imageGen
    form.steps = Math.min(
      m?.defaults?.steps ?? ig?.default_steps ?? 20,
      maxSteps.value,
    )
    form.cfg = m?.defaults?.cfg ?? null
    form.guidance = usesGuidance(m) ? (m?.defaults?.guidance ?? 3.5) : null
  }

  /** selectModel is the user choosing a model. */
  function selectModel(name: string) {
    if (name === form.model) return
    form.model = name
    form.loras = []
    applyModelDefaults()
    void catalog.loadLoras(name)
  }

  /**
   * reconcile fits the form to freshly read lists: a model that is gone or
   * unavailable is replaced, values past new limits are brought in, and
   * everything else the user set stays.
   */
  function reconcile() {
    const cur = selectedModel.value
    if (!cur || !cur.available) {
      const next = catalog.availableModels[0]
      form.model = next?.name ?? cur?.name ?? ''
      form.loras = []
      applyModelDefaults()
    }
    if (!ratios.value.some((r) => r.ratio === form.ratio)) {
      form.ratio = defaultRatio()
    }
    form.steps = Math.max(1, Math.min(form.steps, maxSteps.value))
    form.batch = Math.max(1, Math.min(form.batch, maxBatch.value))
    if (form.model !== catalog.lorasModel) void catalog.loadLoras(form.model)
  }

  watch(() => catalog.revision, reconcile)

  // LoRAs that the chosen model can no longer use are dropped.
  watch(
    () => catalog.loras,
    (list) => {
      if (catalog.lorasModel !== form.model) return
      form.loras = form.loras.filter((p) =>
        list.some((l) => l.name === p.name && l.available),
      )
    },
  )

  function isLoraPicked(name: string): boolean {
    return form.loras.some((p) => p.name === name)
  }

  function toggleLora(name: string, on: boolean) {
    if (!on) {
      form.loras = form.loras.filter((p) => p.name !== name)
      return
    }
    if (isLoraPicked(name)) return
    const l = catalog.loras.find((x) => x.name === name)
    form.loras = [...form.loras, { name, strength: l?.default_strength ?? 1 }]
  }

  function setLoraStrength(name: string, strength: number) {
    const p = form.loras.find((x) => x.name === name)
    if (p) p.strength = strength
  }

  /** addTriggerWord appends a word to the prompt unless it is there. */
  function addTriggerWord(word: string) {
    const p = form.prompt.trim()
    if (p.toLowerCase().includes(word.toLowerCase())) return
    form.prompt = p ? `${p}, ${word}` : word
  }

  /** buildRequest turns the form into what the service takes. */
  function buildRequest(): GenerateRequest {
    const req: GenerateRequest = {
      prompt: form.prompt.trim(),
      model: form.model,
      steps: form.steps,
      batch_size: form.batch,
    }
    if (form.negative.trim()) req.negative_prompt = form.negative.trim()
    if (form.loras.length) {
      req.loras = form.loras.map((p) => ({
        name: p.name,
        strength: p.strength,
      }))
    }
    if (form.ratio) req.ratio = form.ratio
    if (form.cfg !== null) req.cfg = form.cfg
    if (form.guidance !== null && usesGuidance(selectedModel.value)) {
      req.guidance = form.guidance
    }
    if (form.seedMode === 'fixed') req.seed = form.seed.trim()
    return req
  }

  function persist() {
    saveJobs(jobs.value)
  }

  function update(id: string, job: Job) {
    const e = jobs.value.find((j) => j.id === id)
    if (!e) return
    e.job = job
    if (isFinal(job.status)) persist()
  }

  const watches = new Map<string, JobWatch>()

  /** follow tracks a job through its event stream, polling if it breaks. */
  function follow(id: string) {
    if (watches.has(id)) return
    const w = watchJob(
      id,
      (job) => update(id, job),
      () => {
        watches.delete(id)
        void poll(id)
      },
    )
    watches.set(id, w)
  }

  async function poll(id: string) {
    for (let i = 0; i < 600; i++) {
      const e = jobs.value.find((j) => j.id === id)
      if (!e || (e.job && isFinal(e.job.status))) return
      try {
        update(id, await getJob(id))
      } catch (err) {
        e.followError = errorMessage(err)
        if (err instanceof ApiError && err.status === 404) return
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
  }

  /** generate submits the form and follows the new job. */
  async function generate(): Promise<boolean> {
    submitError.value = ''
    fieldErrors.value = {}
    if (!canGenerate.value) return false
    submitting.value = true
    try {
      const req = buildRequest()
      const acc = await submit(req)
      const entry: JobEntry = {
        id: acc.job_id,
        prompt: req.prompt,
        model: req.model,
        createdAt: new Date().toISOString(),
        job: null,
      }
      jobs.value = [entry, ...jobs.value].slice(0, maxJobs)
      selectedId.value = entry.id
      persist()
      follow(entry.id)
      return true
    } catch (err) {
      submitError.value = errorMessage(err)
      if (err instanceof ApiError && Array.isArray(err.details)) {
        const fe: Record<string, string> = {}
        for (const d of err.details as FieldProblem[]) {
          if (d && typeof d.field === 'string') fe[d.field] = d.message
        }
        fieldErrors.value = fe
      }
      return false
    } finally {
      submitting.value = false
    }
  }

  async function cancel(id: string) {
    try {
      update(id, await cancelJob(id))
    } catch (err) {
      submitError.value = errorMessage(err)
    }
  }

  /** reuseSeed fixes the seed to the one a finished job used. */
  function reuseSeed(seed: string) {
    form.seedMode = 'fixed'
    form.seed = seed
  }

  /** resume follows the jobs restored from the session that had not ended. */
  function resume() {
    for (const e of jobs.value) {
      if (!e.job || !isFinal(e.job.status)) follow(e.id)
    }
  }

  function stopAll() {
    for (const w of watches.values()) w.close()
    watches.clear()
  }

  return {
    form,
    jobs,
    selectedId,
    selected,
    submitting,
    submitError,
    fieldErrors,
    selectedModel,
    running,
    maxSteps,
    maxBatch,
    ratios,
    selectedRatio,
    seedError,
    canGenerate,
    selectModel,
    reconcile,
    isLoraPicked,
    toggleLora,
    setLoraStrength,
    addTriggerWord,
    buildRequest,
    generate,
    cancel,
    reuseSeed,
    resume,
    stopAll,
  }
})
