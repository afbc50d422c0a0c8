#!/usr/bin/env node
// The `strata` command. The CLI is TypeScript run by Node's type stripping, which needs Node 22.18+;
// npm scripts and npx put the project's own Node 22 first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`strata needs Node 22.18 or newer (this is ${process.versions.node}). Run it as \`npx strata …\` from the project folder after \`npm install\`, which uses the project's Node 22.`);
  process.exit(2);
}
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
