import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

// Three builds into out/: main (ESM, native packages stay external), preload (CommonJS, because
// sandboxed preloads cannot be ES modules) and the renderer (also served by the browser host).
// Worker threads' entries need no input here: main code imports them with electron-vite's
// `?modulePath` suffix (main/engine/workerEntryUrl.ts), which bundles each into out/main/chunks/.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      // The engine process's entry is an input of its own (main/engineProcess/engineEntry.ts).
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'main/index.ts'),
          engineMain: resolve(import.meta.dirname, 'main/engineProcess/engineMain.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: true,
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(import.meta.dirname, 'renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(import.meta.dirname, 'out/renderer'),
      minify: true,
      rollupOptions: { input: resolve(import.meta.dirname, 'renderer/index.html') },
    },
  },
});
