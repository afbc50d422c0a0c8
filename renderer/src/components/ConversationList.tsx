import { useStrata } from '../store/useStrata.ts';
import { ConversationItem } from './ConversationItem.tsx';
import './ConversationList.css';

export function ConversationList() {
  const conversations = useStrata((s) => s.conversations);
  const activeId = useStrata((s) => s.activeConversationId);
  const createConversation = useStrata((s) => s.createConversation);

  return (
    <aside className="sidebar">
      <button
        type="button"
        className="button button-primary button-block"
        onClick={() => void createConversation({ documentIds: [] })}
      >
        New conversation
      </button>
      <nav aria-label="Conversations" className="conversation-nav">
        {conversations.length === 0 ? (
          <p className="sidebar-empty">No conversations yet. Ask a question or add a document to start one.</p>
        ) : (
          <ul className="conversation-list">
            {conversations.map((conversation) => (
              <ConversationItem key={conversation.id} conversation={conversation} active={conversation.id === activeId} />
            ))}
          </ul>
        )}
      </nav>
    </aside>
  );
}
