// What Strata asks the Hugging Face Hub (or a mirror: STRATA_HF_ENDPOINT) besides the file itself:
// a repository's file list with each file's size and SHA-256 (Git LFS metadata, the download check),
// and a search of GGUF repositories. The tests answer these from main/test/fakeHub.ts.
import { RequestError, StrataError } from '../../engine/errors.ts';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co/';

export function hfEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.STRATA_HF_ENDPOINT?.trim();
  if (!given) return DEFAULT_HF_ENDPOINT;
  return given.endsWith('/') ? given : `${given}/`;
}

export interface HfFileRef {
  owner: string;
  repo: string;
  /** The file's path inside the repository. */
  file: string;
}

export function parseHfUri(uri: string): HfFileRef {
  const match = /^hf:([^/\s]+)\/([^/\s:]+)\/(.+\.gguf)$/i.exec(uri.trim());
  if (!match) throw new StrataError('BAD_MODEL_URI', `${uri} is not a model file URI; give it as hf:OWNER/REPO/FILE.gguf (the file's path in the repository).`);
  return { owner: match[1], repo: match[2], file: match[3] };
}

/** A request's model URI, checked (INVALID_ARGUMENT when missing, BAD_MODEL_URI when malformed). */
export function requireHfUri(uri: unknown): string {
  if (typeof uri !== 'string' || uri.trim() === '') throw new RequestError('INVALID_ARGUMENT', 'uri must be hf:OWNER/REPO/FILE.gguf');
  parseHfUri(uri);
  return uri.trim();
}

export interface HubFile {
  path: string;
  sizeBytes: number;
  /** The Git LFS oid: the file's SHA-256; null for a file not stored in LFS. */
  sha256: string | null;
}

export interface HubRepo {
  /** OWNER/REPO */
  id: string;
  downloads: number;
  likes: number;
}

async function getJson(url: string, what: string, endpoint: string, signal?: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new StrataError('HUB_UNREACHABLE', `Could not reach ${endpoint} (${(error as Error).message}).`, { cause: error });
  }
  if (response.status === 404 || response.status === 401) throw new StrataError('NOT_FOUND', `${what} is not on ${endpoint} (or is private).`);
  if (!response.ok) throw new StrataError('HUB_UNREACHABLE', `${endpoint} answered ${response.status} for ${what}.`);
  return response.json();
}

/** The files of one folder of a repository (the root when folder is ''), not recursive. */
export async function listRepoFiles(endpoint: string, owner: string, repo: string, folder = '', signal?: AbortSignal): Promise<HubFile[]> {
  const sub = folder === '' ? '' : `/${folder.split('/').map(encodeURIComponent).join('/')}`;
  const url = `${endpoint}api/models/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/tree/main${sub}`;
  const entries = (await getJson(url, `${owner}/${repo}`, endpoint, signal)) as Array<{ type?: string; path: string; size?: number; lfs?: { oid?: string; size?: number } }>;
  if (!Array.isArray(entries)) throw new StrataError('HUB_UNREACHABLE', `${endpoint} sent no file list for ${owner}/${repo}.`);
  return entries
    .filter((e) => e.type !== 'directory' && typeof e.path === 'string')
    .map((e) => ({ path: e.path, sizeBytes: e.lfs?.size ?? e.size ?? 0, sha256: e.lfs?.oid ?? null }));
}

/** The size and SHA-256 a downloaded file must have. */
export async function expectedFile(endpoint: string, ref: HfFileRef, signal?: AbortSignal): Promise<{ sizeBytes: number; sha256: string }> {
  const folder = ref.file.includes('/') ? ref.file.slice(0, ref.file.lastIndexOf('/')) : '';
  const entry = (await listRepoFiles(endpoint, ref.owner, ref.repo, folder, signal)).find((e) => e.path === ref.file);
  if (!entry) throw new StrataError('NOT_FOUND', `${ref.owner}/${ref.repo} has no file ${ref.file}.`);
  if (!entry.sha256) throw new StrataError('DOWNLOAD_FAILED', `${ref.owner}/${ref.repo} lists no SHA-256 for ${ref.file}, so a download could not be checked.`);
  return { sizeBytes: entry.sizeBytes, sha256: entry.sha256 };
}

/** GGUF repositories whose name matches, most downloaded first. */
export async function searchGgufRepos(endpoint: string, query: string, signal?: AbortSignal, limit = 20): Promise<HubRepo[]> {
  const url = `${endpoint}api/models?search=${encodeURIComponent(query)}&filter=gguf&sort=downloads&direction=-1&limit=${limit}`;
  const entries = (await getJson(url, `the search for “${query}”`, endpoint, signal)) as Array<{ id?: string; modelId?: string; downloads?: number; likes?: number }>;
  if (!Array.isArray(entries)) return [];
  return entries
    .map((e) => ({ id: String(e.id ?? e.modelId ?? ''), downloads: Number(e.downloads ?? 0), likes: Number(e.likes ?? 0) }))
    .filter((e) => /^[^/\s]+\/[^/\s]+$/.test(e.id));
}
