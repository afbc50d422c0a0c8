import { useStrata } from '../store/useStrata.ts';
import { selectActiveConversation, selectActiveMessages, selectActiveStream } from '../store/selectors.ts';
import { Composer } from './Composer.tsx';
import { MessageItem } from './MessageItem.tsx';
import { MessageList } from './MessageList.tsx';
import { NoModelHint } from './NoModelHint.tsx';
import { Icon } from './Icon.tsx';
import { IngestProgressBar } from './IngestProgressBar.tsx';
import './ChatView.css';

export function ChatView() {
  const conversation = useStrata(selectActiveConversation);
  const messages = useStrata(selectActiveMessages);
  const stream = useStrata(selectActiveStream);
  const hasModel = useStrata((s) => s.model !== null);
  const loaded = useStrata((s) => s.loaded);
  const chatError = useStrata((s) => s.chatError);
  const dismissChatError = useStrata((s) => s.dismissChatError);
  const empty = messages.length === 0 && !stream;

  return (
    <main className="chat">
      <div className="chat-header">
        <h1 className="chat-title">{conversation ? conversation.title : 'New conversation'}</h1>
        {conversation && (
          <span className="chat-subtitle">
            {conversation.documentIds.length === 0
              ? 'No documents in use'
              : conversation.documentIds.length === 1
                ? '1 document in use'
                : `${conversation.documentIds.length} documents in use`}
          </span>
        )}
      </div>

      {empty ? (
        <div className="chat-empty">
          {!loaded ? null : !hasModel ? (
            <NoModelHint large />
          ) : (
            <div className="empty-state">
              <div className="empty-state-title">Ask a question about your documents</div>
              <p>Tick documents on the right to use them here, then type below. Enter sends, Shift+Enter adds a line.</p>
            </div>
          )}
        </div>
      ) : (
        <MessageList>
          {messages.map((message, i) => (
            <MessageItem
              key={message.id}
              message={message}
              canRegenerate={!stream && i === messages.length - 1 && message.role === 'assistant'}
            />
          ))}
          {stream && <MessageItem stream={stream} />}
        </MessageList>
      )}

      <div className="chat-footer">
        {!hasModel && loaded && !empty && <NoModelHint />}
        {chatError && (
          <div className="notice notice-error" role="alert">
            <span className="notice-text">
              {chatError.message} <code className="error-code">{chatError.code}</code>
            </span>
            <button type="button" className="icon-button" aria-label="Dismiss chat error" onClick={dismissChatError}>
              <Icon name="close" />
            </button>
          </div>
        )}
        <IngestProgressBar />
        <Composer />
      </div>
    </main>
  );
}
