// `strata make-model …` and the cached test models that tests and e2e specs load.

import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ARCHITECTURE_NAMES, makeArchModel } from './architectures/index.ts';
import type { ArchModelOptions } from './architectures/index.ts';
import { CHAT_TEMPLATE_NAMES } from './chatTemplates/index.ts';
import { makeNeedleModel } from './makeNeedleModel.ts';
import { makeRandomModel } from './makeRandomModel.ts';
import type { RandomModelOptions } from './makeRandomModel.ts';

export const MAKE_MODEL_USAGE = `usage:
  strata make-model needle --out FILE
  strata make-model random --layers L --embd E --heads H --kv-heads K --head-dim D --vocab V
                           [--ffn N] [--type f16|f32] [--seed S] [--context-length C] --out FILE
  strata make-model random --arch A [--chat-template T] [shape options as above, all optional]
                           [--type f16|f32] [--seed S] [--context-length C] --out FILE
    A: ${ARCHITECTURE_NAMES.join(', ')}
    T: ${CHAT_TEMPLATE_NAMES.join(', ')} (the model authors' own templates)
options: --json prints {kind, path, sizeBytes}`;

export interface CliOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Runs `make-model` with the arguments that follow it (a leading `make-model` is skipped). Returns the exit code. */
export async function runMakeModel(argv: readonly string[], io: CliOutput = process): Promise<number> {
  const args = argv[0] === 'make-model' ? argv.slice(1) : argv;
  let request: MakeModelRequest;
  try {
    request = parseMakeModelArgs(args);
  } catch (error) {
    io.stderr.write(`make-model: ${(error as Error).message}\n${MAKE_MODEL_USAGE}\n`);
    return 2;
  }
  if (request.kind === 'help') {
    io.stdout.write(`${MAKE_MODEL_USAGE}\n`);
    return 0;
  }
  try {
    const path = resolve(request.out);
    const startMs = performance.now();
    await writeAtomically(path, (tempPath) =>
      request.kind === 'needle' ? makeNeedleModel(tempPath)
        : request.kind === 'arch' ? makeArchModel(tempPath, request.options)
          : makeRandomModel(tempPath, request.options));
    const { size: sizeBytes } = await stat(path);
    if (request.json) {
      io.stdout.write(`${JSON.stringify({ kind: request.kind === 'arch' ? 'random' : request.kind, path, sizeBytes, ...(request.kind === 'arch' ? { arch: request.options.arch } : {}) })}\n`);
    } else {
      const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
      const kind = request.kind === 'arch' ? `random ${request.options.arch}` : request.kind;
      io.stdout.write(`wrote ${kind} model ${path} (${(sizeBytes / 1e6).toFixed(1)} MB, ${seconds} s)\n`);
    }
    return 0;
  } catch (error) {
    io.stderr.write(`make-model: ${(error as Error).message}\n`);
    return error instanceof RangeError ? 2 : 1;
  }
}

export type MakeModelRequest =
  | { kind: 'help' }
  | { kind: 'needle'; out: string; json: boolean }
  | { kind: 'random'; out: string; json: boolean; options: RandomModelOptions }
  | { kind: 'arch'; out: string; json: boolean; options: ArchModelOptions };

/** Throws RangeError with a message for the user on any bad or missing argument. */
export function parseMakeModelArgs(args: readonly string[]): MakeModelRequest {
  const [kind, ...rest] = args;
  if (kind === undefined || kind === '--help' || kind === '-h' || kind === 'help') return { kind: 'help' };
  if (kind !== 'needle' && kind !== 'random') throw new RangeError(`unknown model kind "${kind}" (needle or random)`);

  const stringOption = { type: 'string' } as const;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      strict: true,
      allowPositionals: false,
      options: {
        out: stringOption, json: { type: 'boolean' },
        ...(kind === 'random' ? {
          layers: stringOption, embd: stringOption, heads: stringOption, 'kv-heads': stringOption,
          'head-dim': stringOption, vocab: stringOption, ffn: stringOption, type: stringOption,
          seed: stringOption, 'context-length': stringOption, arch: stringOption, 'chat-template': stringOption,
        } : {}),
      },
    }));
  } catch (error) {
    // parseArgs throws TypeError for unknown options; to the user it is a bad argument like any other.
    throw new RangeError((error as Error).message);
  }
  const out = values['out'];
  if (typeof out !== 'string' || out.length === 0) throw new RangeError('--out FILE is required');
  const json = values['json'] === true;
  if (kind === 'needle') return { kind, out, json };

  const integer = (name: string, required: boolean): number | undefined => {
    const text = values[name];
    if (text === undefined) {
      if (required) throw new RangeError(`--${name} is required`);
      return undefined;
    }
    if (typeof text !== 'string' || !/^-?\d+$/.test(text)) throw new RangeError(`--${name} must be an integer, got "${text}"`);
    return Number(text);
  };
  const type = values['type'] ?? 'f16';
  if (type !== 'f16' && type !== 'f32') throw new RangeError(`--type must be f16 or f32, got "${type}"`);
  const ffn = integer('ffn', false);
  const contextLength = integer('context-length', false);
  const arch = values['arch'];
  const chatTemplate = values['chat-template'];
  if (typeof chatTemplate === 'string' && !CHAT_TEMPLATE_NAMES.includes(chatTemplate as never)) {
    throw new RangeError(`--chat-template must be one of ${CHAT_TEMPLATE_NAMES.join(', ')}, got "${chatTemplate}"`);
  }
  if (typeof arch === 'string') {
    if (!ARCHITECTURE_NAMES.includes(arch)) throw new RangeError(`--arch must be one of ${ARCHITECTURE_NAMES.join(', ')}, got "${arch}"`);
    const shape: Partial<Record<'layers' | 'embd' | 'heads' | 'kvHeads' | 'headDim' | 'vocab' | 'ffn', number>> = {};
    for (const [flag, key] of [['layers', 'layers'], ['embd', 'embd'], ['heads', 'heads'], ['kv-heads', 'kvHeads'], ['head-dim', 'headDim'], ['vocab', 'vocab'], ['ffn', 'ffn']] as const) {
      const value = integer(flag, false);
      if (value !== undefined) shape[key] = value;
    }
    return {
      kind: 'arch', out, json,
      options: {
        arch, ...shape, type, seed: integer('seed', false) ?? 1,
        ...(contextLength === undefined ? {} : { contextLength }),
        ...(typeof chatTemplate === 'string' ? { chatTemplate } : {}),
      },
    };
  }
  if (chatTemplate !== undefined) throw new RangeError('--chat-template needs --arch');
  const options: RandomModelOptions = {
    layers: integer('layers', true)!,
    embd: integer('embd', true)!,
    heads: integer('heads', true)!,
    kvHeads: integer('kv-heads', true)!,
    headDim: integer('head-dim', true)!,
    vocab: integer('vocab', true)!,
    type,
    seed: integer('seed', false) ?? 1,
    ...(ffn === undefined ? {} : { ffn }),
    ...(contextLength === undefined ? {} : { contextLength }),
  };
  return { kind, out, json, options };
}

/** `<repo>/.cache/models` (gitignored), found from this file's place in the tree. */
export function defaultModelCacheDir(): string {
  return fileURLToPath(new URL('../../../.cache/models/', import.meta.url));
}

/**
 * Path of the cached needle model, built first if missing. Concurrent callers may both build it;
 * each writes its own temporary file and renames it into place, so readers never see a partial file.
 */
export async function ensureTestModel(kind: 'needle', cacheDir: string = defaultModelCacheDir()): Promise<string> {
  if (kind !== 'needle') throw new RangeError(`unknown test model "${String(kind)}"`);
  const path = join(cacheDir, 'needle.gguf');
  if (!existsSync(path)) await writeAtomically(path, makeNeedleModel);
  return path;
}

async function writeAtomically(path: string, write: (tempPath: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tempPath = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await write(tempPath);
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}
