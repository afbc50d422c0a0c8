// A model from the Hugging Face Hub (or a mirror of it: STRATA_HF_ENDPOINT), downloaded into a staging
// folder (models/.downloads/, which no model list reads) as FILE.part, resumed with an HTTP Range
// request from the bytes already there (after a cancel, a dropped connection or a restart), and moved
// into models/ only once its size and SHA-256 equal what the repository's tree listing gives for the
// file (Git LFS metadata). A file that does not match is removed and the error says so.
//
// Not node-llama-cpp's downloader (ipull): it keeps only whole 5 MiB pieces of a cancelled download
// (with three in flight at once, often none: a resume then starts over), and its cancel did not return
// while a connection was stalled. A byte-exact Range resume is a few lines of fetch.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StrataError } from '../../engine/errors.ts';
import { expectedFile, hfEndpoint, parseHfUri, type HfFileRef } from './hubClient.ts';

export { DEFAULT_HF_ENDPOINT, hfEndpoint, parseHfUri } from './hubClient.ts';

export const STAGING_DIR = '.downloads';
const PART_SUFFIX = '.part';
/** Connection drops (or stalls) in a row after which a download stops with its bytes kept. */
const MAX_RETRIES = 4;
/** No byte for this long: the connection is dropped and asked again from where it stopped. */
const DEFAULT_STALL_MS = 60_000;
const SPEED_WINDOW_MS = 5_000;

export interface PullProgress {
  downloadedBytes: number;
  totalBytes: number;
  /** Bytes per second over the last few seconds. */
  bytesPerSecond: number;
  /** Seconds left at that speed; null before it is known. */
  secondsLeft: number | null;
}

export interface PullRequest {
  /** hf:OWNER/REPO/path/to/file.gguf */
  uri: string;
  modelsDir: string;
  endpoint?: string;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  /** The download is complete and its SHA-256 is being checked. */
  onVerifying?: () => void;
  /** How long a silent connection is waited for (tests shorten it). */
  stallMs?: number;
}

export interface PulledModel {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/** Where a model URI lands in the models folder once checked (the repository's file name). */
export function pulledPath(modelsDir: string, uri: string): string {
  return join(modelsDir, basename(parseHfUri(uri).file));
}

/** The partial file of a download in the staging folder. */
export function stagedPath(modelsDir: string, uri: string): string {
  return join(modelsDir, STAGING_DIR, `${basename(parseHfUri(uri).file)}${PART_SUFFIX}`);
}

/** Bytes of a download already in the staging folder (0 when none). */
export async function stagedBytes(modelsDir: string, uri: string): Promise<number> {
  return (await stat(stagedPath(modelsDir, uri)).catch(() => null))?.size ?? 0;
}

export function resolveUrl(endpoint: string, ref: HfFileRef): string {
  return `${endpoint}${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.repo)}/resolve/main/${ref.file.split('/').map(encodeURIComponent).join('/')}`;
}

export async function pullModel(request: PullRequest): Promise<PulledModel> {
  const endpoint = request.endpoint ?? hfEndpoint();
  const ref = parseHfUri(request.uri);
  const expected = await expectedFile(endpoint, ref, request.signal);
  await mkdir(join(request.modelsDir, STAGING_DIR), { recursive: true });
  const part = stagedPath(request.modelsDir, request.uri);
  // A part longer than the file is not this file: start over.
  if ((await stagedBytes(request.modelsDir, request.uri)) > expected.sizeBytes) await rm(part, { force: true });
  const speed = speedMeter();
  await fetchResumable(resolveUrl(endpoint, ref), part, expected.sizeBytes, request.signal, request.stallMs ?? DEFAULT_STALL_MS, (done) => {
    const bytesPerSecond = speed(done);
    request.onProgress?.({
      downloadedBytes: done,
      totalBytes: expected.sizeBytes,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? (expected.sizeBytes - done) / bytesPerSecond : null,
    });
  });
  request.onVerifying?.();
  const { size } = await stat(part);
  const sha256 = await fileSha256(part, request.signal);
  if (size !== expected.sizeBytes || sha256 !== expected.sha256) {
    await rm(part, { force: true });
    throw new StrataError(
      'DOWNLOAD_CORRUPT',
      `${ref.file} arrived damaged (${size.toLocaleString('en-US')} bytes, SHA-256 ${sha256.slice(0, 12)}…; the repository says ${expected.sizeBytes.toLocaleString('en-US')} bytes, ${expected.sha256.slice(0, 12)}…). It was removed; download it again.`,
    );
  }
  const path = pulledPath(request.modelsDir, request.uri);
  await rename(part, path);
  return { path, sizeBytes: size, sha256 };
}

/**
 * GETs `url` into `part` from the bytes already there (Range), until `totalBytes` arrived. A dropped
 * or stalled connection is asked again from where it stopped, MAX_RETRIES times in a row; a cancel
 * ends it at once. What arrived stays in `part` in every case.
 */
async function fetchResumable(url: string, part: string, totalBytes: number, signal: AbortSignal | undefined, stallMs: number, onBytes: (done: number) => void): Promise<void> {
  let failures = 0;
  for (;;) {
    signal?.throwIfAborted();
    const have = (await stat(part).catch(() => null))?.size ?? 0;
    if (have >= totalBytes) return;
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let stall: NodeJS.Timeout | null = null;
    const arm = () => {
      if (stall) clearTimeout(stall);
      stall = setTimeout(() => attempt.abort(new StrataError('DOWNLOAD_STALLED', `No data for ${Math.round(stallMs / 1000)} s.`)), stallMs);
    };
    let done = have;
    try {
      arm();
      const response = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: attempt.signal });
      if (response.status === 416) return; // nothing left to send
      if (response.status === 404) throw new StrataError('NOT_FOUND', `${url} is not on the Hub (or is private).`);
      if (!response.ok || !response.body) throw new StrataError('DOWNLOAD_FAILED', `The Hub answered ${response.status} for ${url}.`);
      // A server that ignores Range sends the whole file: write it from the start.
      const resumed = response.status === 206;
      const served = resumed ? Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1] ?? NaN) : Number(response.headers.get('content-length') ?? NaN);
      if (Number.isFinite(served) && served !== totalBytes) {
        await response.body.cancel().catch(() => undefined);
        await rm(part, { force: true });
        throw new StrataError('DOWNLOAD_CORRUPT', `The server sends ${served.toLocaleString('en-US')} bytes for this file; the repository lists ${totalBytes.toLocaleString('en-US')}. Nothing was kept; try again later.`);
      }
      done = resumed ? have : 0;
      const file = await open(part, resumed ? 'a' : 'w');
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          await file.write(chunk);
          done += chunk.length;
          failures = 0;
          arm();
          onBytes(done);
        }
      } finally {
        await file.close();
      }
      if (done >= totalBytes) return;
      throw new StrataError('DOWNLOAD_FAILED', `The connection ended after ${done.toLocaleString('en-US')} of ${totalBytes.toLocaleString('en-US')} bytes.`);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const code = (error as { code?: string }).code;
      if (code === 'NOT_FOUND' || code === 'DOWNLOAD_CORRUPT') throw error;
      if (++failures > MAX_RETRIES) {
        const why = attempt.signal.aborted ? (attempt.signal.reason as Error).message : (error as Error).message;
        throw new StrataError('DOWNLOAD_FAILED', `The download stopped at ${done.toLocaleString('en-US')} of ${totalBytes.toLocaleString('en-US')} bytes (${why}); what arrived is kept, and the download resumes from there.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * failures));
    } finally {
      if (stall) clearTimeout(stall);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Bytes per second over the last few seconds, from the running total. */
function speedMeter(): (done: number) => number {
  const samples: Array<{ at: number; done: number }> = [];
  return (done) => {
    const at = performance.now();
    samples.push({ at, done });
    while (samples.length > 2 && at - samples[0].at > SPEED_WINDOW_MS) samples.shift();
    const first = samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0.2 ? (done - first.done) / seconds : 0;
  };
}

/** Removes what a download left in the staging folder. */
export async function discardStaged(modelsDir: string, uri: string): Promise<void> {
  await rm(stagedPath(modelsDir, uri), { force: true });
}

async function fileSha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) {
    signal?.throwIfAborted();
    hash.update(piece as Buffer);
  }
  return hash.digest('hex');
}
