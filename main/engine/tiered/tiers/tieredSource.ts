// Where a chunk's blob comes from when it goes back onto the GPU: the CPU tier if it still holds it,
// else the disk tier (checksum verified), after which the CPU tier keeps it for the next time.
import type { SpliceSource } from '../TierManager.ts';
import type { CpuTier } from './CpuTier.ts';
import { BlobCorruptError, type BlobRef, type DiskTier } from './DiskTier.ts';

/** `chunk.cpuKey`: the CPU tier's key for the blob when it differs from the GPU tier's (a library chunk placed in a prompt). */
export function tieredSource(chunk: { key: string; cpuKey?: string; posStart: number; posEnd: number }, cpu: CpuTier, disk: DiskTier, diskKey: string, ref: BlobRef): SpliceSource {
  const cpuKey = chunk.cpuKey ?? chunk.key;
  return {
    key: chunk.key,
    posStart: chunk.posStart,
    posEnd: chunk.posEnd,
    load: async () => {
      const cached = cpu.get(cpuKey);
      if (cached) return { blob: cached, from: 'cpu' };
      const blob = await disk.read(diskKey, ref);
      cpu.put(cpuKey, blob);
      return { blob, from: 'disk' };
    },
    unreadable: (detail) => {
      cpu.delete(cpuKey);
      return new BlobCorruptError(diskKey, ref, `llama.cpp cannot parse it (${detail})`);
    },
  };
}
