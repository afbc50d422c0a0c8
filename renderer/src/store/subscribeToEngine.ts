import type { StrataEvents } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import { loadInitialState } from './loadInitialState.ts';
import { useStrata } from './useStrata.ts';

let unsubscribe: (() => void) | null = null;

/** How long tokens wait to be taken into the store together: about one frame. */
const TOKEN_BATCH_MS = 16;

/** Engine events go straight into the store. Call once at startup; later calls are no-ops. */
export function subscribeToEngine(): () => void {
  if (unsubscribe) return unsubscribe;
  const { bridge, socket } = getStrataClient();
  const state = useStrata.getState;
  // Tokens can come faster than frames (hundreds a second from a small model): they are taken into the
  // store together, at most once per ~frame, so the window renders the answer and the dashboards once
  // per batch instead of once per token and stays responsive. Any other chat event first takes in the
  // tokens that came before it.
  const tokens: Array<{ event: StrataEvents['chat.onToken']; at: number }> = [];
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  const flushTokens = () => {
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    const batch = tokens.splice(0);
    const timed = batch.map(({ event, at }) => {
      const stream = state().streams[event.requestId];
      return { event, fallbackElapsedMs: stream ? at - stream.startedAt : 0 };
    });
    for (const { event } of batch) {
      state().applyToken(event);
      // Tokens flow: whatever was being read into the tiers is done.
      state().endIngest(event.requestId);
    }
    state().recordTokens(timed);
  };
  const offs = [
    bridge.on('chat.onToken', (event) => {
      tokens.push({ event, at: Date.now() });
      flushTimer ??= setTimeout(flushTokens, TOKEN_BATCH_MS);
    }),
    bridge.on('chat.onAskStarted', (event) => {
      flushTokens();
      state().applyAskStarted(event);
      state().beginTimeline(event.requestId, event.conversationId);
    }),
    bridge.on('chat.onAskFinished', (event) => {
      flushTokens();
      state().applyAskFinished(event);
      state().endTimeline(event.requestId);
      state().endIngest(event.requestId);
      if (event.conversationId === state().activeConversationId) void state().refreshResidency(event.conversationId);
    }),
    bridge.on('chat.onIngestProgress', (event) => state().applyIngestProgress(event, Date.now())),
    bridge.on('engine.onMemory', (snapshot) => state().applyMemory(snapshot)),
    bridge.on('engine.onResidency', (snapshot) => state().applyResidency(snapshot)),
    bridge.on('documents.onImportProgress', (event) => {
      const known = state().imports.find((row) => row.requestId === event.requestId);
      state().applyImportProgress(event);
      // Another window finished an import: its document belongs in this list too.
      if (event.phase === 'done' && !known?.local) void state().refreshDocuments();
    }),
    bridge.on('models.onStatus', (event) => {
      state().applyModelStatus(event);
      // Documents' KV belongs to the open model (and its layout): another model, or none, shows another state.
      if (event.state !== 'loading') void state().refreshDocumentKv();
    }),
    bridge.on('app.onNotice', (event) => state().notify(event.message, event.tone)),
    bridge.on('documents.onChanged', ({ reason }) => {
      if (reason !== 'kv') void state().refreshDocuments();
      if (reason !== 'tokenCounts') void state().refreshDocumentKv();
    }),
    bridge.on('documents.onKvProgress', (event) => state().applyKvProgress(event)),
    bridge.on('models.onDownload', (info) => state().applyDownload(info)),
  ];
  if (socket) {
    let wasDown = false;
    offs.push(
      socket.onConnectionChange((connection) => {
        useStrata.setState({ connection });
        if (connection !== 'open') wasDown = true;
        else if (wasDown) {
          wasDown = false;
          void loadInitialState();
        }
      }),
    );
  }
  unsubscribe = () => {
    if (flushTimer !== null) clearTimeout(flushTimer);
    for (const off of offs) off();
    unsubscribe = null;
  };
  return unsubscribe;
}
