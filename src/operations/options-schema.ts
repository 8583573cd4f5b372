/**
 * `ConnectionManagerOptions` as a schema, checked once when a manager is built: a JavaScript
 * caller (or a config file) that passes `failurePolicy: { backoffBaseMs: "30s" }` gets a typed
 * error naming `failurePolicy.backoffBaseMs` at construction, not a `RangeError` on its first
 * `get`. Deeper rules stay with their owners (integrations: `resolveIntegrations`; encryption keys:
 * `RecordCipher`, which also checks `encryptionKey`; the lease/timeout relation: `createContext`); this is the shape.
 */
import * as v from 'valibot';
import { isPlainObject } from '../model/json.js';
import { parseInput } from '../model/schema.js';
import type { IntegrationConfig, ProviderDefinition } from '../providers/definition.js';

const NonNegative = v.pipe(
  v.number(),
  v.finite('must be a finite number'),
  v.minValue(0, 'must be a non-negative number'),
);
const Positive = v.pipe(v.number(), v.finite('must be a finite number'), v.gtValue(0, 'must be a positive number'));
const Fraction = v.pipe(
  v.number(),
  v.gtValue(0, 'must be a number in (0, 1]'),
  v.maxValue(1, 'must be a number in (0, 1]'),
);

/** An object whose named members are functions: what an adapter or logger is, whatever its class. */
function withMethods(kind: string, methods: string[]) {
  return v.custom<object>(
    (value) =>
      value !== null &&
      typeof value === 'object' &&
      methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function'),
    `must be ${kind} (an object with ${methods.join(', ')} methods)`,
  );
}

const StoreSchema = withMethods('a storage adapter', ['get', 'insert', 'replace', 'delete', 'scan']);
const LoggerSchema = withMethods('a logger', ['warn', 'error']);

/** Every option of `ConnectionManagerOptions`; unknown names are left alone (TypeScript flags them). */
export const ManagerOptionsSchema = v.object({
  store: v.optional(StoreSchema),
  // Objects here; `resolveIntegrations` checks each field and names it.
  integrations: v.optional(v.record(v.string(), v.custom<IntegrationConfig>(isPlainObject, 'must be an object'))),
  providers: v.optional(v.record(v.string(), v.custom<ProviderDefinition>(isPlainObject, 'must be an object'))),
  refreshMarginSeconds: v.optional(NonNegative),
  refreshLifetimeFraction: v.optional(Fraction),
  failurePolicy: v.optional(
    v.strictObject({
      backoffBaseMs: v.optional(Positive),
      backoffMaxMs: v.optional(Positive),
      exhaustAfterMs: v.optional(Positive),
    }),
  ),
  lock: v.optional(v.strictObject({ leaseMs: v.optional(NonNegative), waitMs: v.optional(NonNegative) })),
  http: v.optional(
    v.object({
      timeoutMs: v.optional(Positive),
      allowInsecureLoopback: v.optional(v.boolean()),
      trustedCertificates: v.optional(v.array(v.string())),
      allowPrivateNetworks: v.optional(v.boolean()),
    }),
  ),
  rateLimits: v.optional(
    v.record(
      v.string(),
      v.strictObject({
        requestsPerSecond: Positive,
        burst: v.optional(v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'))),
        scope: v.optional(v.picklist(['connection', 'integration'], "must be 'connection' or 'integration'")),
      }),
    ),
  ),
  storageRetry: v.optional(
    v.strictObject({ initialDelayMs: v.optional(NonNegative), maxDelayMs: v.optional(NonNegative) }),
  ),
  keepAlive: v.optional(
    v.strictObject({ refreshAfterMs: v.optional(Positive), healthCheckEveryMs: v.optional(Positive) }),
  ),
  revokeOnDelete: v.optional(v.boolean()),
  expiringWithinMs: v.optional(NonNegative),
  lastFetchedWriteIntervalMs: v.optional(NonNegative),
  audit: v.optional(
    v.union(
      [
        v.boolean(),
        v.strictObject({
          actor: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(200, 'is too long'))),
          retentionDays: v.optional(Positive),
          flushIntervalMs: v.optional(Positive),
          batchSize: v.optional(
            v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1')),
          ),
        }),
      ],
      'must be true, false or an object of settings',
    ),
  ),
  encryptionCacheBytes: v.optional(NonNegative),
  nearCache: v.optional(v.union([v.boolean(), v.strictObject({ maxBytes: v.optional(Positive) })])),
  requireEncryption: v.optional(v.boolean()),
  clock: v.optional(v.function('must be a function returning epoch milliseconds')),
  logger: v.optional(LoggerSchema),
});

/** Checks the manager's options; throws an `InvalidRequestError` naming the first bad one. */
export function checkManagerOptions(options: unknown): void {
  if (options === undefined) return;
  parseInput(ManagerOptionsSchema, options, undefined);
}
