// Where a worker thread's entry module is, in the two ways Strata's main-process code runs:
//
// - From the TypeScript sources (tests, the CLI, the browser host): Node strips the types of every
//   module it loads, a Worker included, so the entry is the .ts file beside the caller.
// - From electron-vite's bundle (out/main/index.js): the sources are gone. The caller's
//   `import('./x.ts?modulePath')` makes electron-vite bundle the entry as a file of its own in
//   out/main and resolves to that file's absolute path. The import sits behind a thunk so that Node,
//   which does not know the suffix, never evaluates it when running the sources.
import { pathToFileURL } from 'node:url';

/**
 * @param callerUrl the caller's `import.meta.url`: a `.ts` URL when running the sources.
 * @param sourcePath the entry's path relative to the caller, e.g. `./tokenizerWorkerMain.ts`.
 * @param bundledPath `() => import('./tokenizerWorkerMain.ts?modulePath')`, the same file.
 */
export async function workerEntryUrl(callerUrl: string, sourcePath: string, bundledPath: () => Promise<{ default: string }>): Promise<URL> {
  if (new URL(callerUrl).pathname.endsWith('.ts')) return new URL(sourcePath, callerUrl);
  return pathToFileURL((await bundledPath()).default);
}
