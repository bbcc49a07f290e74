// vue-i18n set up for both apps: English and Simplified Chinese, the
// browser's language by default, the user's choice remembered.
import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import elEn from 'element-plus/es/locale/lang/en'
import elZhCn from 'element-plus/es/locale/lang/zh-cn'
import en from './en'
import zhCN from './zh-CN'

export type Locale = 'en' | 'zh-CN'

export const locales: readonly Locale[] = ['en', 'zh-CN']

const storageKey = 'atelier.locale'

/**
 * detectLocale picks the stored choice when there is one, else the first
 * browser language we have (any Chinese variant maps to zh-CN), else en.
 */
export function detectLocale(
  browser: readonly string[],
  stored: string | null,
): Locale {
  if (stored && (locales as readonly string[]).includes(stored)) {
    return stored as Locale
  }
  for (const lang of browser) {
    const l = lang.toLowerCase()
    if (l.startsWith('zh')) return 'zh-CN'
    if (l.startsWith('en')) return 'en'
  }
  return 'en'
}

function storedLocale(): string | null {
  try {
    return localStorage.getItem(storageKey)
  } catch {
    return null
  }
}

function browserLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return []
  return navigator.languages?.length
    ? navigator.languages
    : [navigator.language]
}

export const i18n = createI18n({
  legacy: false,
  locale: detectLocale(browserLanguages(), storedLocale()),
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
})

if (typeof document !== 'undefined') {
  document.documentElement.lang = i18n.global.locale.value
}

/** setLocale switches the language and remembers the choice. */
export function setLocale(l: Locale) {
  i18n.global.locale.value = l
  try {
    localStorage.setItem(storageKey, l)
  } catch {
    // Private windows may refuse storage; the switch still applies.
  }
  document.documentElement.lang = l
}

/** currentLocale is the language in use. */
export const currentLocale = computed<Locale>(
  () => i18n.global.locale.value as Locale,
)

/** elementLocale is Element Plus's own texts for the language in use. */
export const elementLocale = computed(() =>
  currentLocale.value === 'zh-CN' ? elZhCn : elEn,
)
