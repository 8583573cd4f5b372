/** The configuration is missing, unreadable or invalid. `field` names the culprit; never a value. */
export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.field = field;
  }
}
