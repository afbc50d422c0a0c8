/** A conversation's stored turns live in the disk tier (and its start-up sweep) under this key. */
export function turnsDiskKey(conversationId: string): string {
  return `turns-${conversationId}`;
}
