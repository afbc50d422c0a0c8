// Where Strata keeps its catalog and caches: --data-dir, else STRATA_HOME, else the OS app-data
// folder Electron would use for an app named Strata, so the CLI and the desktop app share one catalog.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function defaultDataDir(): string {
  const home = homedir();
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Strata');
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'Strata');
  return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Strata');
}

export function resolveDataDir(explicit?: string): string {
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  const fromEnv = process.env.STRATA_HOME;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return defaultDataDir();
}
