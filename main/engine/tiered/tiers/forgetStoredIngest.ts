// Deleting one stored documents' prefix from the catalog and the disk tier, with the conversation turns
// stored after it (they can never be used again). The one way an ingest goes, whether the document is
// removed, the model forgotten, the disk budget evicts it or its blobs are damaged.
import type { KvCatalog } from '../../../catalog/KvCatalog.ts';
import { turnsDiskKey } from '../turnsDiskKey.ts';
import type { DiskTier } from './DiskTier.ts';

export async function forgetStoredIngest(kv: KvCatalog, disk: DiskTier, ingestId: string): Promise<void> {
  const followers = kv.conversationsWithTurnsAfter([ingestId]);
  kv.deleteIngest(ingestId);
  await disk.removeDocument(ingestId);
  for (const conversationId of followers) {
    kv.deleteTurnsFrom(conversationId, 0);
    await disk.removeDocument(turnsDiskKey(conversationId));
  }
}
