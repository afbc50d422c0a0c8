// Reads a GGUF's header and metadata before llama.cpp sees it, so a wrong or corrupt file becomes a
// clear error instead of a native failure.
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { ModelError } from './errors.ts';
import type { LoadedModelInfo } from './Engine.ts';

const GGUF_MAGIC = 'GGUF';

export async function inspectModel(path: string): Promise<LoadedModelInfo> {
  const name = basename(path);
  let sizeBytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ModelError('MODEL_NOT_FOUND', `${path} is not a file.`);
    sizeBytes = info.size;
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError('MODEL_NOT_FOUND', `Model file not found: ${path}`, { cause: error });
  }

  const header = Buffer.alloc(8);
  const handle = await open(path, 'r');
  try {
    await handle.read(header, 0, 8, 0);
  } finally {
    await handle.close();
  }
  if (header.subarray(0, 4).toString('latin1') !== GGUF_MAGIC) {
    throw new ModelError('INVALID_GGUF', `${name} is not a GGUF model file (it does not start with "GGUF"). Choose a .gguf file, e.g. one from a llama.cpp-compatible model release.`);
  }
  const version = header.readUInt32LE(4);
  if (version < 2 || version > 3) {
    throw new ModelError('INVALID_GGUF', `${name} uses GGUF version ${version}; Strata reads versions 2 and 3.`);
  }

  const damaged = (reason: string, cause?: unknown) =>
    new ModelError('INVALID_GGUF', `${name} is damaged or incomplete: ${reason}. Download or generate it again.`, { cause });
  let fileInfo: Awaited<ReturnType<typeof readGgufFileInfo>>;
  try {
    fileInfo = await readGgufFileInfo(path, { readTensorInfo: true });
  } catch (error) {
    throw damaged(`its GGUF metadata cannot be read (${(error as Error).message})`, error);
  }
  const metadata = fileInfo.metadata as unknown as Record<string, unknown>;
  const general = (metadata.general ?? {}) as Record<string, unknown>;
  if (typeof general.architecture !== 'string' || general.architecture === '') throw damaged('it names no model architecture');
  const architecture = general.architecture;
  // A download cut short keeps its header: check that every tensor it lists starts inside the file.
  const tensors = fileInfo.fullTensorInfo ?? fileInfo.tensorInfo ?? [];
  if (BigInt(tensors.length) !== BigInt(fileInfo.totalTensorCount)) throw damaged(`it lists ${fileInfo.totalTensorCount} tensors but only ${tensors.length} could be read`);
  if (fileInfo.splicedParts === 1) {
    const lastStart = tensors.reduce((max, t) => (BigInt(t.fileOffset) > max ? BigInt(t.fileOffset) : max), 0n);
    if (tensors.length > 0 && lastStart >= BigInt(sizeBytes)) throw damaged(`its tensors reach past the end of the file (${sizeBytes} bytes)`);
  }
  const archMeta = (metadata[architecture] ?? {}) as Record<string, unknown>;
  const tokenizer = (metadata.tokenizer ?? {}) as Record<string, unknown>;
  const contextLength = archMeta.context_length;
  return {
    path,
    name: typeof general.name === 'string' && general.name !== '' ? general.name : name.replace(/\.gguf$/i, ''),
    architecture,
    sizeBytes,
    hasChatTemplate: typeof tokenizer.chat_template === 'string' && tokenizer.chat_template !== '',
    trainContextTokens: typeof contextLength === 'number' ? contextLength : 4096,
    latentAttention: latentAttentionRank(archMeta) > 0,
  };
}

function latentAttentionRank(archMeta: Record<string, unknown>): number {
  const attention = (archMeta.attention ?? {}) as Record<string, unknown>;
  return typeof attention.kv_lora_rank === 'number' ? attention.kv_lora_rank : 0;
}
