// `strata <command>`: thin callers of the engine and the service, with exit codes scripts can use
// (0 done, 1 failed, 2 bad usage or not available).
import { runAsk } from './askCommand.ts';
import { runServe } from './serveCommand.ts';
import { UsageError } from './UsageError.ts';

const USAGE = `Usage: strata <command> [options]

Commands:
  ask --model F --doc F [--doc F…] --question TEXT [--engine standard|tiered]
      [--gpu-budget TOKENS] [--max-tokens N] [--data-dir D] [--json]
  serve [--port N] [--data-dir D]          the browser host on 127.0.0.1
  make-model needle --out F                the hand-built needle test model
  make-model random --layers L --embd E --heads H --kv-heads K --head-dim D --vocab V
      [--ffn N] [--type f16|f32] [--seed S] --out F
  ingest, bench                            arrive with the tiered engine

Data lives in --data-dir, else $STRATA_HOME, else the OS app-data folder.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'ask':
        return await runAsk(rest);
      case 'serve':
        return await runServe(rest);
      case 'make-model': {
        const { runMakeModel } = await import('../engine/testModels/cli.ts');
        return await runMakeModel(rest);
      }
      case 'ingest':
      case 'bench':
        console.error(`strata ${command} is not available yet: it arrives with the tiered engine.`);
        return 2;
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
    if (error instanceof UsageError) {
      console.error(`strata: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`strata: ${(error as Error).message}`);
    return 1;
  }
}
