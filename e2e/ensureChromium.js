#!/usr/bin/env node
// The e2e suite drives Debian's Chromium (Playwright's own browser download cannot work offline).
// Installs it with apt-get when it is missing and we are allowed to; otherwise says what to do.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!hasApt) {
  console.error(`Chromium is missing at ${CHROMIUM} and apt-get is not available. Install Chromium and set STRATA_CHROMIUM to its path.`);
  process.exit(1);
}
const sudo = isRoot ? [] : ['sudo', '-n'];
const run = (args) => {
  const [cmd, ...rest] = [...sudo, ...args];
  execFileSync(cmd, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
};
console.log('Installing Debian chromium for the e2e suite…');
try {
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', '--no-install-recommends', 'chromium', 'fonts-dejavu-core']);
} catch (error) {
  console.error(`Could not install chromium: ${error.message}. Run: sudo apt-get install -y chromium`);
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`apt-get finished but ${CHROMIUM} is still missing.`);
  process.exit(1);
}
