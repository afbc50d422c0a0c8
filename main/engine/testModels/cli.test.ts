import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readGgufFileInfo } from 'node-llama-cpp';
import { defaultModelCacheDir, ensureTestModel, parseMakeModelArgs, runMakeModel } from './cli.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the command with its output captured. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = { stdout: '', stderr: '' };
  const code = await runMakeModel(argv, {
    stdout: { write: (text: string) => (output.stdout += text) },
    stderr: { write: (text: string) => (output.stderr += text) },
  });
  return { code, ...output };
}

describe('make-model', () => {
  test('needle --out writes the model, creating parent directories', async () => {
    const out = join(dir, 'a', 'b', 'needle.gguf');
    const { code, stdout } = await run(['needle', '--out', out, '--json']);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), { kind: 'needle', path: out, sizeBytes: (await stat(out)).size });
  });

  test('random writes the requested shape', async () => {
    const out = join(dir, 'random.gguf');
    const { code } = await run(['make-model', 'random', '--layers', '2', '--embd', '64', '--heads', '4', '--kv-heads', '2',
      '--head-dim', '32', '--vocab', '300', '--ffn', '96', '--type', 'f32', '--seed', '4', '--out', out]);
    assert.equal(code, 0);
    const info = await readGgufFileInfo(out, { logWarnings: false });
    const llama = info.metadata as unknown as { llama: Record<string, unknown> & { attention: Record<string, unknown> } };
    assert.equal(llama.llama['block_count'], 2);
    assert.equal(llama.llama['feed_forward_length'], 96);
    assert.equal(llama.llama.attention['key_length'], 32);
    assert.equal(info.tensorInfo?.find((t) => t.name === 'blk.0.attn_q.weight')?.ggmlType, 0);
  });

  test('random --arch builds that architecture, with a real chat template when asked', async () => {
    const out = join(dir, 'qwen2.gguf');
    const { code, stdout } = await run(['random', '--arch', 'qwen2', '--chat-template', 'qwen2.5', '--context-length', '16384', '--out', out, '--json']);
    assert.equal(code, 0);
    assert.equal(JSON.parse(stdout).arch, 'qwen2');
    const info = await readGgufFileInfo(out, { logWarnings: false });
    const metadata = info.metadata as unknown as { general: { architecture: string }; qwen2: { context_length: number }; tokenizer: { chat_template: string; ggml: Record<string, unknown> } };
    assert.equal(metadata.general.architecture, 'qwen2');
    assert.equal(metadata.qwen2.context_length, 16384);
    assert.match(metadata.tokenizer.chat_template, /<\|im_start\|>/);
    assert.equal(metadata.tokenizer.ggml['add_bos_token'], false);
    const tokens = metadata.tokenizer.ggml['tokens'] as string[];
    assert.equal(tokens[metadata.tokenizer.ggml['eos_token_id'] as number], '<|im_end|>');
    assert.ok(info.tensorInfo?.some((t) => t.name === 'blk.0.attn_q.bias'), 'QKV bias');
    for (const [argv, message] of [
      [['random', '--arch', 'gpt9', '--out', out], /--arch must be one of llama, mistral/],
      [['random', '--arch', 'llama', '--chat-template', 'alpaca', '--out', out], /--chat-template must be one of/],
    ] as Array<[string[], RegExp]>) {
      const failed = await run(argv);
      assert.equal(failed.code, 2);
      assert.match(failed.stderr, message);
    }
  });

  test('bad or missing arguments exit with 2 and say what is wrong', async () => {
    const shape = ['--layers', '2', '--embd', '64', '--heads', '4', '--kv-heads', '2', '--head-dim', '16', '--vocab', '300'];
    const cases: Array<[string[], RegExp]> = [
      [['tiny', '--out', 'x'], /unknown model kind "tiny"/],
      [['needle'], /--out FILE is required/],
      [['needle', '--out', 'x', '--layers', '2'], /Unknown option '--layers'/],
      [['random', '--out', join(dir, 'r.gguf'), ...shape.slice(2)], /--layers is required/],
      [['random', '--out', join(dir, 'r.gguf'), ...shape, '--type', 'q4'], /--type must be f16 or f32/],
      [['random', '--out', join(dir, 'r.gguf'), ...shape.slice(0, -1), 'many'], /--vocab must be an integer/],
      [['random', '--out', join(dir, 'r.gguf'), ...shape.slice(0, 7), '3', ...shape.slice(8)], /multiple of kvHeads/],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await run(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(stderr, message);
    }
  });

  test('--help prints usage', async () => {
    const { code, stdout } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /make-model random/);
    assert.deepEqual(parseMakeModelArgs([]), { kind: 'help' });
  });
});

describe('ensureTestModel', () => {
  test('builds the needle model once into the cache directory', async () => {
    const cacheDir = join(dir, 'cache', 'models');
    const path = await ensureTestModel('needle', cacheDir);
    assert.equal(path, join(cacheDir, 'needle.gguf'));
    const first = await stat(path);
    const again = await ensureTestModel('needle', cacheDir);
    assert.equal(again, path);
    assert.equal((await stat(path)).mtimeMs, first.mtimeMs, 'not rebuilt');
    assert.equal((await readFile(path)).subarray(0, 4).toString(), 'GGUF');
  });

  test('defaults to <repo>/.cache/models', () => {
    assert.match(defaultModelCacheDir(), /[/\\]\.cache[/\\]models[/\\]?$/);
    assert.ok(!defaultModelCacheDir().includes(join('main', 'engine')));
  });
});
