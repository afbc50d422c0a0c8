import { getStrataClient } from '../bridge/getStrataClient.ts';
import { toErrorPayload } from './toErrorPayload.ts';
import { useStrata } from './useStrata.ts';

/**
 * Everything the window shows comes from the engine: run on startup and after the browser host's
 * socket reconnects, so a reload (or a dropped connection) shows the same state again.
 */
export async function loadInitialState(): Promise<void> {
  const { api } = getStrataClient();
  const store = useStrata.getState();
  try {
    const [appInfo, model, recentModels, documents, conversations] = await Promise.all([
      api.app.info(),
      api.models.current(),
      api.models.listRecent(),
      api.documents.list(),
      api.chat.listConversations(),
    ]);
    const sorted = conversations.slice().sort((a, b) => b.updatedAt - a.updatedAt);
    const previous = useStrata.getState().activeConversationId;
    const active = sorted.find((c) => c.id === previous) ?? sorted[0] ?? null;
    useStrata.setState({ appInfo, host: appInfo.host, model, recentModels, documents, conversations: sorted });
    void store.refreshDocumentKv();
    await store.selectConversation(active?.id ?? null);
  } catch (err) {
    const { message } = toErrorPayload(err);
    store.notify(`Could not load Strata's state: ${message}`);
  } finally {
    useStrata.setState({ loaded: true });
  }
}
