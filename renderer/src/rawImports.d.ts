// Vite's `?raw` imports: a file's text, bundled (the sample document of the first run).
declare module '*?raw' {
  const text: string;
  export default text;
}
