// One Llama runtime per process: node-llama-cpp picks the binary variant (cpu, cuda, vulkan) once,
// and every engine shares it.
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';

let pending: Promise<Llama> | null = null;

export function getLlamaRuntime(): Promise<Llama> {
  if (pending === null) {
    const gpu = process.env.STRATA_GPU === 'off' ? false : 'auto';
    pending = getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error }).catch((error: unknown) => {
      pending = null;
      throw error;
    });
  }
  return pending;
}
