/**
 * What the Connect UI asks an end user for, derived from an integration's provider definition:
 * the credential fields of its auth mode (the bodies `@nangohq/frontend` posts) and the
 * `connection_config` fields its URLs and templates read. Nothing here is a secret: the
 * integration's client secret and private key never leave the server.
 */
import { connectFlowFor } from '../connect/registry.js';
import type { AuthMode } from '../model/auth-modes.js';
import type { IntegrationDescription, ProviderDefinition } from '../providers/definition.js';

/** How the page collects a connection: a popup (OAuth-like), a form posted to a route, or not at all. */
export type ConnectKind = 'popup' | 'form' | 'unsupported';

/** One input of the form. */
export interface FormField {
  /** The body key (dotted for nested keys: `privateKey.id`) or the `connection_config` key. */
  name: string;
  /** `secret`: typed into a password input, never shown again; `multiline`: a PEM key or certificate. */
  input: 'text' | 'secret' | 'multiline';
  optional: boolean;
  /** A regular expression the value must match (the server checks the same one). */
  pattern?: string;
  default_value?: string;
}

/** The form of one integration, as `GET /connect/session/integrations` answers it. */
export interface ConnectForm {
  kind: ConnectKind;
  /** The route a form posts to, relative to the API (`api-auth/api-key`), or `oauth/connect` for a popup. */
  route: string | null;
  /** Fixed body fields the route expects besides the user's (`{type: 'JWT'}`). */
  body_type: string | null;
  credentials: FormField[];
  connection_config: FormField[];
}

/**
 * Where each form mode's credentials go (the routes `@nangohq/frontend` posts to) and what it is
 * always asked for; fields its templates read are added. Modes with a browser flow
 * (`connect/registry.ts`) use the popup; a mode in neither list cannot be connected from the page.
 */
const FORM_MODES: Partial<Record<AuthMode, { route: string; bodyType?: string; fields: string[] }>> = {
  API_KEY: { route: 'api-auth/api-key', fields: ['apiKey'] },
  BASIC: { route: 'api-auth/basic', fields: ['username', 'password'] },
  TBA: { route: 'auth/tba', fields: ['token_id', 'token_secret'] },
  JWT: { route: 'auth/jwt', bodyType: 'JWT', fields: ['privateKey'] },
  BILL: { route: 'auth/bill', fields: ['username', 'password', 'organization_id', 'dev_key'] },
  TWO_STEP: { route: 'auth/two-step', bodyType: 'TWO_STEP', fields: [] },
  SIGNATURE: { route: 'auth/signature', bodyType: 'SIGNATURE', fields: ['username', 'password'] },
  OAUTH2_CC: { route: 'oauth2/auth', fields: [] },
  NONE: { route: 'auth/unauthenticated', fields: [] },
  AWS_SIGV4: { route: 'auth/aws-sigv4', fields: ['role_arn'] },
};

function modeOf(definition: ProviderDefinition): {
  kind: ConnectKind;
  route: string | null;
  bodyType?: string;
  fields: string[];
} {
  const form = definition.installPlugin === true ? undefined : FORM_MODES[definition.authMode];
  if (form) return { kind: 'form', ...form };
  if (connectFlowFor(definition)) return { kind: 'popup', route: 'oauth/connect', fields: [] };
  return { kind: 'unsupported', route: null, fields: [] };
}

const SECRET = /key|secret|password|token|assertion/i;
const MULTILINE = /private_?key|certificate|pem/i;

function inputOf(name: string): FormField['input'] {
  return MULTILINE.test(name) ? 'multiline' : SECRET.test(name) ? 'secret' : 'text';
}

/** The form the Connect UI shows for this integration, with the session's preset `connection_config` left out. */
export function connectFormOf(integration: IntegrationDescription, preset: Record<string, unknown> = {}): ConnectForm {
  const definition = integration.definition;
  const mode = modeOf(definition);
  const names = new Set(mode.fields);
  for (const name of templateCredentialNames(definition)) names.add(name);
  if (definition.authMode === 'JWT' && definition.jwt?.algorithm?.startsWith('HS')) {
    // An HMAC key is an `{ id, secret }` pair (Ghost's Admin API keys), not a PEM.
    names.add('privateKey.id');
    names.add('privateKey.secret');
  }
  // A nested key (`privateKey.id`) replaces its parent: the page builds the object.
  for (const name of names) if (name.includes('.')) names.delete(name.split('.')[0]!);
  if (definition.authMode === 'OAUTH2_CC' && integration.clientId === undefined) {
    // Without the integration's client, each end user brings their own (Nango's OAUTH2_CC connect).
    names.add('client_id');
    names.add('client_secret');
  }
  const defaults = definition.credentialDefaults ?? {};
  const credentials: FormField[] = [...names]
    // A field the provider fills itself (Freshdesk's password `X`) is not asked for.
    .filter((name) => defaults[name] === undefined)
    .map((name) => ({ name, input: inputOf(name.split('.').at(-1)!), optional: false }));
  if (definition.authMode === 'TBA') {
    for (const name of ['oauth_client_id_override', 'oauth_client_secret_override']) {
      credentials.push({ name, input: inputOf(name), optional: true });
    }
  }
  return {
    kind: mode.kind,
    route: mode.route,
    body_type: mode.bodyType ?? null,
    credentials,
    connection_config: connectionConfigFields(definition, mode.kind, preset),
  };
}

/** The `connection_config` fields the user types: not those the session presets, nor those the OAuth flow brings. */
function connectionConfigFields(
  definition: ProviderDefinition,
  kind: ConnectKind,
  preset: Record<string, unknown>,
): FormField[] {
  const brought = new Set(
    kind === 'popup' ? [...(definition.callbackMetadata ?? []), ...(definition.tokenResponseMetadata ?? [])] : [],
  );
  const fields: FormField[] = [];
  for (const [name, spec] of Object.entries(definition.connectionConfig ?? {})) {
    if (brought.has(name) || (preset[name] !== undefined && preset[name] !== '')) continue;
    fields.push({
      name,
      input: inputOf(name) === 'secret' ? 'secret' : 'text',
      optional: spec.optional === true || spec.default !== undefined,
      ...(spec.pattern !== undefined && { pattern: spec.pattern }),
      ...(spec.default !== undefined && { default_value: spec.default }),
    });
  }
  return fields;
}

/**
 * The credential names a JWT or TWO_STEP definition's templates read (`${credentials.apiKey}`):
 * what the user has to submit for them to fill in.
 */
function templateCredentialNames(definition: ProviderDefinition): string[] {
  const sources: unknown[] = [];
  if (definition.authMode === 'JWT') sources.push(definition.jwt);
  if (definition.authMode === 'TWO_STEP' && definition.twoStep) {
    const { tokenRequest, additionalSteps, assertion, samlAssertion, assertionKeyField } = definition.twoStep;
    sources.push(tokenRequest, additionalSteps, assertion, samlAssertion);
    if (assertion !== undefined || samlAssertion !== undefined)
      sources.push(`\${credentials.${assertionKeyField ?? 'privateKey'}}`);
  }
  const names = new Set<string>();
  const text = JSON.stringify(sources);
  for (const match of text.matchAll(/\$\{credentials\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)\}/g)) {
    const name = match[1]!;
    // `${credentials.assertion}` is what the server signs, not what the user gives.
    if (name !== 'assertion' && name !== '_cookies') names.add(name);
  }
  return [...names];
}
