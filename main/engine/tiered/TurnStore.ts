// Where a conversation's turns live as KV: their blobs in the CPU tier and in the conversation's own
// segment files on disk (turns-<id>), their rows in the KV catalog. TieredConversation asks this for
// everything about stored turns; it never touches the tiers or the catalog itself.
import type { KvCatalog, KvTurn } from '../../catalog/KvCatalog.ts';
import type { SpliceSource } from './TierManager.ts';
import type { CpuTier } from './tiers/CpuTier.ts';
import type { BlobRef, DiskTier } from './tiers/DiskTier.ts';
import { tieredSource } from './tiers/tieredSource.ts';
import { turnsDiskKey } from './turnsDiskKey.ts';

export class TurnStore {
  private readonly cpu: CpuTier;
  private readonly disk: DiskTier;
  private readonly kv: KvCatalog;

  constructor(parts: { cpu: CpuTier; disk: DiskTier; kv: KvCatalog }) {
    this.cpu = parts.cpu;
    this.disk = parts.disk;
    this.kv = parts.kv;
  }

  /** Writes a turn chunk's blob to disk (fsynced), keeps it in the CPU tier, and returns where it is. */
  async putBlob(conversationId: string, key: string, blob: Uint8Array): Promise<BlobRef> {
    const ref = await this.disk.append(turnsDiskKey(conversationId), blob);
    this.cpu.put(key, blob);
    return ref;
  }

  /** The row, after its blob is durable. */
  addRow(conversationId: string, turn: KvTurn): void {
    this.kv.addTurn(conversationId, turn);
  }

  rows(conversationId: string): KvTurn[] {
    return this.kv.listTurns(conversationId);
  }

  /** A turn chunk to splice back: from the CPU tier, else from disk. */
  source(conversationId: string, turn: { key: string; posStart: number; posEnd: number; ref: BlobRef }): SpliceSource {
    return tieredSource(turn, this.cpu, this.disk, turnsDiskKey(conversationId), turn.ref);
  }

  /** Out of the CPU tier (its row and blob stay). */
  uncache(key: string): void {
    this.cpu.delete(key);
  }

  /** Rows from `index` on, and the blobs after `keepUpTo` (the end of the last kept blob). */
  async dropFrom(conversationId: string, index: number, keepUpTo: { segment: number; offset: number }, rows: boolean): Promise<void> {
    if (rows) this.kv.deleteTurnsFrom(conversationId, index);
    await this.disk.truncateTo(turnsDiskKey(conversationId), keepUpTo.segment, keepUpTo.offset);
  }

  /** Every row and blob of the conversation's turns. */
  async dropAll(conversationId: string, rows: boolean): Promise<void> {
    if (rows) this.kv.deleteTurnsFrom(conversationId, 0);
    await this.disk.removeDocument(turnsDiskKey(conversationId)).catch(() => undefined);
  }
}
