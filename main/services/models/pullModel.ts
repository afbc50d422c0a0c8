// A model from the Hugging Face Hub (or a mirror of it: STRATA_HF_ENDPOINT), downloaded with
// node-llama-cpp's downloader into a staging folder (models/.downloads/, which no model list reads;
// an interrupted or cancelled download resumes from its temporary file, also after a restart) and moved
// into models/ only once its size and SHA-256 equal what the repository's tree listing gives for the
// file (Git LFS metadata). A file that does not match is removed and the error says so.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createModelDownloader } from 'node-llama-cpp';
import { StrataError } from '../../engine/errors.ts';
import { expectedFile, hfEndpoint, parseHfUri } from './hubClient.ts';

export { DEFAULT_HF_ENDPOINT, hfEndpoint, parseHfUri } from './hubClient.ts';

export const STAGING_DIR = '.downloads';

export interface PullProgress {
  downloadedBytes: number;
  totalBytes: number;
  /** Bytes per second, averaged by the downloader. */
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
  onProgress?: (downloadedBytes: number, totalBytes: number, detail: PullProgress) => void;
  /** The download is complete and its SHA-256 is being checked. */
  onVerifying?: () => void;
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

export async function pullModel(request: PullRequest): Promise<PulledModel> {
  const endpoint = request.endpoint ?? hfEndpoint();
  const ref = parseHfUri(request.uri);
  const expected = await expectedFile(endpoint, ref, request.signal);
  const stagingDir = join(request.modelsDir, STAGING_DIR);
  await mkdir(stagingDir, { recursive: true });
  const downloader = await createModelDownloader({
    modelUri: request.uri,
    dirPath: stagingDir,
    fileName: basename(ref.file),
    endpoints: { huggingFace: endpoint },
    showCliProgress: false,
    deleteTempFileOnCancel: false, // a cancelled or interrupted download resumes next time
    onProgress: ({ downloadedSize, totalSize, averageSpeed, estimatedTimeLeft }) =>
      request.onProgress?.(downloadedSize, totalSize, {
        downloadedBytes: downloadedSize,
        totalBytes: totalSize,
        bytesPerSecond: Number.isFinite(averageSpeed) ? averageSpeed : 0,
        secondsLeft: Number.isFinite(estimatedTimeLeft) && estimatedTimeLeft > 0 ? estimatedTimeLeft / 1000 : null,
      }),
  });
  const staged = await downloader.download({ signal: request.signal });
  // A cancel ends the download without an error; the temporary file keeps every whole 5 MB piece.
  if (request.signal?.aborted) {
    // node-llama-cpp starts closing on abort without waiting; wait, so the temporary file is complete.
    await downloader.cancel({ deleteTempFile: false });
    throw request.signal.reason ?? new StrataError('CANCELLED', 'The download was cancelled.');
  }
  request.onVerifying?.();
  const { size } = await stat(staged);
  const sha256 = await fileSha256(staged, request.signal);
  if (size !== expected.sizeBytes || sha256 !== expected.sha256) {
    await rm(staged, { force: true });
    throw new StrataError(
      'DOWNLOAD_CORRUPT',
      `${ref.file} arrived damaged (${size.toLocaleString('en-US')} bytes, SHA-256 ${sha256.slice(0, 12)}…; the repository says ${expected.sizeBytes.toLocaleString('en-US')} bytes, ${expected.sha256.slice(0, 12)}…). It was removed; download it again.`,
    );
  }
  const path = pulledPath(request.modelsDir, request.uri);
  await rename(staged, path);
  return { path, sizeBytes: size, sha256 };
}

/** Removes what a download left in the staging folder. */
export async function discardStaged(modelsDir: string, uri: string): Promise<void> {
  const name = basename(parseHfUri(uri).file);
  const entries = await readdir(join(modelsDir, STAGING_DIR)).catch(() => [] as string[]);
  for (const entry of entries) if (entry === name || entry.startsWith(`${name}.`)) await rm(join(modelsDir, STAGING_DIR, entry), { force: true });
}

async function fileSha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    hash.update(piece as Buffer);
  }
  return hash.digest('hex');
}
