// Audit action codes in the user's language.
import { useI18n } from 'vue-i18n'
import { actionKey } from '@/api/audit'

/**
 * useActionName gives a function that names an audit action code
 * ("login.failed") in the current language, or returns the code itself
 * for one the messages do not know (a newer server's).
 */
export function useActionName(): (code: string) => string {
  const { t, te } = useI18n()
  return (code: string) => {
    const key = actionKey(code)
    return te(key) ? t(key) : code
  }
}
