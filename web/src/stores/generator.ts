// The studio's generation form and this browser session's jobs. Defaults
// come from the config (per model, then image_gen); a new release keeps
// what the user typed and only corrects what no longer fits. The form and
// the jobs live in sessionStorage, so leaving the studio and coming back
// in the same tab finds them as they were.
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
const formKey = 'atelier.form'
/** How many of this session's jobs are kept. */
export const maxJobs = 24
/** The longest prompt (and negative prompt) the service takes, in characters. */
export const maxPromptLength = 10000

/**
 * The request fields the form shows next to their inputs; a service
 * problem with any other field is shown with the general error.
 */
export const formFields: readonly string[] = [
  'prompt',
  'negative_prompt',
  'ratio',
  'steps',
  'cfg',
  'guidance',
  'batch_size',
  'seed',
]

/** promptLength counts characters as the service does (code points). */
export function promptLength(s: string): number {
  let n = 0
  for (const _ of s.trim()) n++
  return n
}

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

function blankForm(): GenerateForm {
  return {
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
  }
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

/**
 * loadForm reads the form this tab left in sessionStorage. Each field is
 * taken only when it has the right type; the catalog's reconcile then
 * corrects what the current config no longer allows.
 */
export function loadForm(): GenerateForm {
  const f = blankForm()
  let v: Record<string, unknown>
  try {
    const raw = sessionStorage.getItem(formKey)
    if (!raw) return f
    const parsed = JSON.parse(raw) as unknown
    if (!parsed || typeof parsed !== 'object') return f
    v = parsed as Record<string, unknown>
  } catch {
    return f
  }
  const str = (k: string) => (typeof v[k] === 'string' ? v[k] : undefined)
  f.prompt = str('prompt') ?? f.prompt
  f.negative = str('negative') ?? f.negative
  f.model = str('model') ?? f.model
  f.ratio = str('ratio') ?? f.ratio
  f.seed = str('seed') ?? f.seed
  if (v.seedMode === 'fixed' || v.seedMode === 'random') {
    f.seedMode = v.seedMode
  }
  if (isNum(v.steps)) f.steps = v.steps
  if (isNum(v.batch)) f.batch = v.batch
  if (isNum(v.cfg) || v.cfg === null) f.cfg = v.cfg
  if (isNum(v.guidance) || v.guidance === null) f.guidance = v.guidance
  if (Array.isArray(v.loras)) {
    f.loras = v.loras.filter(
      (p): p is LoraPick =>
        !!p &&
        typeof (p as LoraPick).name === 'string' &&
        isNum((p as LoraPick).strength),
    )
  }
  return f
}

function saveForm(f: GenerateForm) {
  try {
    sessionStorage.setItem(formKey, JSON.stringify(f))
  } catch {
    // Storage full or refused: the form still works for this page.
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

  const form = reactive<GenerateForm>(loadForm())
  watch(form, () => saveForm(form), { deep: true })

  const jobs = ref<JobEntry[]>(loadJobs())
  /** The job the result area shows. */
  const selectedId = ref(jobs.value[0]?.id ?? '')
  const submitting = ref(false)
  /** A failed submit's message, unless every problem has its own field. */
  const submitError = ref('')
  /** The service's problems by request field (prompt, steps, …). */
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
  /** The ratio presets at the sizes the chosen model really generates. */
  const ratios = computed(() => {
    const ig = catalog.imageGen
    if (!ig) return []
    return ig.size_ratios_by_model?.[form.model] ?? ig.size_ratios
  })
  const selectedRatio = computed(() =>
    ratios.value.find((r) => r.ratio === form.ratio),
  )
  const seedError = computed(
    () => form.seedMode === 'fixed' && !seedValid(form.seed.trim()),
  )
  const promptTooLong = computed(
    () => promptLength(form.prompt) > maxPromptLength,
  )
  const negativeTooLong = computed(
    () => promptLength(form.negative) > maxPromptLength,
  )
  /**
   * Why no model can run when the config lists models and none is
   * available (every ComfyUI backend down, say): their reasons, once each.
   */
  const noModelReason = computed(() => {
    if (!catalog.models.length || catalog.availableModels.length) return ''
    const reasons = catalog.models.map((m) => m.unavailable_reason ?? '')
    return [...new Set(reasons.filter(Boolean))].join('; ')
  })
  const canGenerate = computed(
    () =>
      !submitting.value &&
      form.prompt.trim() !== '' &&
      !promptTooLong.value &&
      !negativeTooLong.value &&
      !!selectedModel.value?.available &&
      !seedError.value,
  )

  /** defaultRatio is the preset of the default size, else the first. */
  function defaultRatio(): string {
    const ig = catalog.imageGen
    if (!ig) return ''
    const d = ig.default_size
    const list = ratios.value
    const same = list.find((r) => r.width === d.width && r.height === d.height)
    return (same ?? list[0])?.ratio ?? ''
  }

  /** fitRatio keeps the chosen preset when the model offers it. */
  function fitRatio() {
    if (!ratios.value.some((r) => r.ratio === form.ratio)) {
      form.ratio = defaultRatio()
    }
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
    fitRatio()
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
    fitRatio()
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
      const { fields, rest } = splitProblems(err)
      fieldErrors.value = fields
      // Each problem is shown once: by its field, or here.
      submitError.value =
        rest ?? (Object.keys(fields).length ? '' : errorMessage(err))
      return false
    } finally {
      submitting.value = false
    }
  }

  /**
   * splitProblems sorts a failed submit's field problems into those the
   * form shows by their input and a text of the others (undefined when
   * there are none).
   */
  function splitProblems(err: unknown): {
    fields: Record<string, string>
    rest: string | undefined
  } {
    const fields: Record<string, string> = {}
    const others: string[] = []
    if (err instanceof ApiError && Array.isArray(err.details)) {
      for (const d of err.details as FieldProblem[]) {
        if (!d || typeof d.field !== 'string') continue
        if (formFields.includes(d.field)) {
          fields[d.field] = fields[d.field]
            ? `${fields[d.field]}; ${d.message}`
            : d.message
        } else {
          others.push(`${d.field}: ${d.message}`)
        }
      }
    }
    return { fields, rest: others.length ? others.join('; ') : undefined }
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
    promptTooLong,
    negativeTooLong,
    noModelReason,
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
