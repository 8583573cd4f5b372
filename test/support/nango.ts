import { getProviders } from '@nangohq/providers';
import { fromNangoProviders, type ProviderDefinition } from '../../src/index.js';

/** Nango's real catalog, imported once (the `@nangohq/providers` devDependency). */
export const nangoImport = fromNangoProviders(getProviders() as Record<string, unknown>);

/** One imported entry; a test of an entry that did not load fails here, by name. */
export function nangoEntry(name: string): ProviderDefinition {
  const definition = nangoImport.providers[name];
  if (!definition) throw new Error(`${name} did not load`);
  return definition;
}
