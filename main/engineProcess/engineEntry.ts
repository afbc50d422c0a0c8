// Where the engine process's entry module is: the .ts source beside this file when running the
// sources (strata serve, tests), or out/main/engineMain.js in the app's bundle (a build input of its
// own in electron.vite.config.ts, so that its worker threads' ?modulePath imports are bundled as
// files; a ?modulePath entry's own ?modulePath imports are not).
export async function engineEntryUrl(): Promise<URL> {
  if (new URL(import.meta.url).pathname.endsWith('.ts')) return new URL('./engineMain.ts', import.meta.url);
  const here = new URL('.', import.meta.url);
  return new URL('engineMain.js', here.pathname.endsWith('/chunks/') ? new URL('..', here) : here);
}
