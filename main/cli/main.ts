// `strata <command>`: thin callers of the engine and the service, with exit codes scripts can use
// (0 done, 1 failed, 2 bad usage, not available, or the data dir is in use by another Strata).
import { DataDirLockedError } from '../host/dataDirLock.ts';
import { runAsk } from './askCommand.ts';
import { runChat } from './chatCommand.ts';
import { runDocs } from './docsCommand.ts';
import { runModels } from './modelsCommand.ts';
import { runSettings } from './settingsCommand.ts';
import { runServe } from './serveCommand.ts';
import { UsageError } from './UsageError.ts';

const USAGE = `Usage: strata <command> [options]

Commands:
  ask --model F --doc F [--doc F…] --question TEXT [--engine tiered|standard]
      [--gpu-budget TOKENS] [--chunk-min-tokens N] [--chunk-max-tokens N]
      [--cpu-tier-bytes N] [--disk-budget-bytes N] [--scoring-layers L,L]
      [--reselect-every N] [--kv-cache-type f16|q8_0|q4_0] [--kv-reuse library|exact]
      [--recompute-percent P] [--max-tokens N] [--temperature T] [--system-prompt TEXT] [--quiet]
      [--data-dir D] [--json]
                                           tiered (the default) keeps the KV cache in GPU, RAM
                                           and disk tiers; the options are the Settings tab's,
                                           for this run only; --json: one object, failures too
  chat --model F [--doc F…] [--conversation ID]
                                           a conversation in the terminal (/docs, /add, /stop, /quit)
  docs add FILE…|list|text ID|rm ID|prepare ID
                                           the document library; prepare reads a document's KV
                                           ahead of any question (docs --help for more)
  models list|rm ID|pull hf:O/R/F.gguf     models opened before, GGUF files on this machine, downloads
  settings get [KEY]|set KEY VALUE         the Settings tab's values, validated the same way
  serve [--port N] [--data-dir D]          the browser host on 127.0.0.1
  make-model needle --out F                the hand-built needle test model
  make-model random --layers L --embd E --heads H --kv-heads K --head-dim D --vocab V
      [--ffn N] [--type f16|f32] [--seed S] --out F
  make-model random --arch A [--chat-template T] --out F
                                           real architectures' shapes (make-model --help)
  bench                                    npm run bench: tiered against standard

Data lives in --data-dir, else $STRATA_HOME, else the OS app-data folder.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    // ask, serve and bench have no usage of their own: the overview names all their options.
    if ((command === 'ask' || command === 'serve' || command === 'bench') && (rest.includes('--help') || rest.includes('-h'))) {
      console.log(USAGE);
      return 0;
    }
    switch (command) {
      case 'ask':
        return await runAsk(rest);
      case 'chat':
        return await runChat(rest);
      case 'docs':
        return await runDocs(rest);
      case 'models':
        return await runModels(rest);
      case 'settings':
        return await runSettings(rest);
      case 'serve':
        return await runServe(rest);
      case 'make-model': {
        const { runMakeModel } = await import('../engine/testModels/cli.ts');
        return await runMakeModel(rest);
      }
      case 'ingest':
        console.error('strata ingest is not available yet: documents are read into the tiers on their first question (strata ask).');
        return 2;
      case 'bench': {
        const { runBench } = await import('../bench/runBench.ts');
        return await runBench(rest);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command: ${command}`);
    }
  } catch (error) {
    // Scripts that asked for JSON get JSON, whatever went wrong (the message is on stderr too).
    if (rest.includes('--json')) {
      const code = error instanceof UsageError ? 'BAD_USAGE' : ((error as { code?: unknown }).code as string | undefined) ?? 'INTERNAL';
      console.log(JSON.stringify(command === 'ask' ? { engine: null, error: { code, message: (error as Error).message } } : { error: { code, message: (error as Error).message } }));
    }
    if (error instanceof UsageError) {
      console.error(`strata: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DataDirLockedError) {
      console.error(`strata: ${error.message}`);
      return 2;
    }
    console.error(`strata: ${(error as Error).message}`);
    return 1;
  }
}
