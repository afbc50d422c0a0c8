// electron-vite's `?modulePath` import suffix (main-process builds only): the default export is the
// absolute path of the imported module, bundled by electron-vite as a file of its own in out/main.
// Only the bundle ever evaluates such an import; see workerEntryUrl.ts.
declare module '*?modulePath' {
  const path: string;
  export default path;
}
