// Shapes shared by several areas of the APIs.

/** Where the main service's applied configuration came from. */
export type ConfigSource = 'backend' | 'cache' | 'local' | 'none'

/** ConfigMeta is what every config-carrying answer of the main service says
 * about the configuration it came from. */
export interface ConfigMeta {
  config_source: ConfigSource
  config_version: number
  last_updated?: string
}

/** A validation problem of the configuration, by path. */
export interface Problem {
  path: string
  message: string
}

/** A problem with one field of a request. */
export interface FieldProblem {
  field: string
  message: string
}
