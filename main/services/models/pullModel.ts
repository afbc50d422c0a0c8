// A model from the Hugging Face Hub (or a mirror of it: STRATA_HF_ENDPOINT), downloaded with
// node-llama-cpp's downloader (resumable: an interrupted download continues from its temporary file)
// and offered only once its SHA-256 equals the one the repository's tree listing gives for the file
// (Git LFS metadata). A file that does not match is removed and the error says so.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { createModelDownloader } from 'node-llama-cpp';
import { StrataError } from '../../engine/errors.ts';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co/';

export interface PullRequest {
  /** hf:OWNER/REPO/path/to/file.gguf */
  uri: string;
  modelsDir: string;
  endpoint?: string;
  signal?: AbortSignal;
  onProgress?: (downloadedBytes: number, totalBytes: number) => void;
}

export interface PulledModel {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export function hfEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.STRATA_HF_ENDPOINT?.trim();
  if (!given) return DEFAULT_HF_ENDPOINT;
  return given.endsWith('/') ? given : `${given}/`;
}

export function parseHfUri(uri: string): { owner: string; repo: string; file: string } {
  const match = /^hf:([^/\s]+)\/([^/\s:]+)\/(.+\.gguf)$/i.exec(uri.trim());
  if (!match) throw new StrataError('BAD_MODEL_URI', `${uri} is not a model file URI; give it as hf:OWNER/REPO/FILE.gguf (the file's path in the repository).`);
  return { owner: match[1], repo: match[2], file: match[3] };
}

export async function pullModel(request: PullRequest): Promise<PulledModel> {
  const endpoint = request.endpoint ?? hfEndpoint();
  const { owner, repo, file } = parseHfUri(request.uri);
  const expected = await expectedFile(endpoint, owner, repo, file, request.signal);
  const downloader = await createModelDownloader({
    modelUri: request.uri,
    dirPath: request.modelsDir,
    endpoints: { huggingFace: endpoint },
    showCliProgress: false,
    deleteTempFileOnCancel: false, // a cancelled or interrupted download resumes next time
    onProgress: ({ downloadedSize, totalSize }) => request.onProgress?.(downloadedSize, totalSize),
  });
  const path = await downloader.download({ signal: request.signal });
  const { size } = await stat(path);
  const sha256 = await fileSha256(path);
  if (size !== expected.size || sha256 !== expected.sha256) {
    await rm(path, { force: true });
    throw new StrataError(
      'DOWNLOAD_CORRUPT',
      `${file} arrived damaged (${size.toLocaleString('en-US')} bytes, SHA-256 ${sha256.slice(0, 12)}…; the repository says ${expected.size.toLocaleString('en-US')} bytes, ${expected.sha256.slice(0, 12)}…). It was removed; download it again.`,
    );
  }
  return { path, sizeBytes: size, sha256 };
}

async function expectedFile(endpoint: string, owner: string, repo: string, file: string, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  const folder = file.includes('/') ? `/${file.slice(0, file.lastIndexOf('/')).split('/').map(encodeURIComponent).join('/')}` : '';
  const url = `${endpoint}api/models/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/tree/main${folder}`;
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    throw new StrataError('DOWNLOAD_FAILED', `Could not reach ${endpoint} (${(error as Error).message}).`, { cause: error });
  }
  if (response.status === 404) throw new StrataError('NOT_FOUND', `${owner}/${repo} is not on ${endpoint} (or is private).`);
  if (!response.ok) throw new StrataError('DOWNLOAD_FAILED', `${endpoint} answered ${response.status} for the file list of ${owner}/${repo}.`);
  const entries = (await response.json()) as Array<{ path: string; size?: number; lfs?: { oid?: string; size?: number } }>;
  const entry = entries.find((e) => e.path === file);
  if (!entry) throw new StrataError('NOT_FOUND', `${owner}/${repo} has no file ${file}.`);
  if (!entry.lfs?.oid) throw new StrataError('DOWNLOAD_FAILED', `${owner}/${repo} lists no SHA-256 for ${file}, so a download could not be checked.`);
  return { size: entry.lfs.size ?? entry.size ?? 0, sha256: entry.lfs.oid };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}
