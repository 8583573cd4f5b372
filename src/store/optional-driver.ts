import { StorageError } from '../model/errors.js';

/**
 * Imports a database driver on first use. The drivers are optional peer dependencies, so
 * `npm install latchkey` alone compiles nothing native; an adapter whose driver is missing says
 * exactly what to install instead of failing with a bare module-not-found.
 */
export async function loadDriver<T>(load: () => Promise<T>, adapter: string, install: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new StorageError(`The ${adapter} store needs its driver: run \`npm install ${install}\``, {
        cause: error,
        transient: false,
      });
    }
    throw error;
  }
}
