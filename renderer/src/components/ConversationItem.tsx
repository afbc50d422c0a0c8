import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ConversationInfo } from '../../../preload/api.ts';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

type Mode = 'view' | 'rename' | 'confirm-delete';

export function ConversationItem({ conversation, active }: { conversation: ConversationInfo; active: boolean }) {
  const selectConversation = useStrata((s) => s.selectConversation);
  const renameConversation = useStrata((s) => s.renameConversation);
  const deleteConversation = useStrata((s) => s.deleteConversation);
  const [mode, setMode] = useState<Mode>('view');
  const [title, setTitle] = useState(conversation.title);
  // Enter submits and unmounts the input, which may also blur it: save once.
  const editing = useRef(false);
  const metaId = useId();
  const className = `conversation${active ? ' conversation-active' : ''}`;

  function saveRename(event?: FormEvent) {
    event?.preventDefault();
    if (!editing.current) return;
    editing.current = false;
    setMode('view');
    if (title.trim() && title.trim() !== conversation.title) void renameConversation(conversation.id, title);
  }

  function onRenameKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'Escape') {
      editing.current = false;
      setTitle(conversation.title);
      setMode('view');
    }
  }

  if (mode === 'rename') {
    return (
      <li className={className}>
        <form className="conversation-rename" onSubmit={saveRename}>
          <input
            className="input input-small"
            aria-label="Conversation title"
            value={title}
            autoFocus
            onChange={(e) => setTitle(e.target.value)}
            onKeyDown={onRenameKey}
            onBlur={() => saveRename()}
          />
        </form>
      </li>
    );
  }

  if (mode === 'confirm-delete') {
    return (
      <li className={`${className} conversation-confirm`}>
        <span className="conversation-confirm-text">Delete “{conversation.title}”?</span>
        <div className="conversation-confirm-actions">
          <button
            type="button"
            className="button button-danger button-small"
            onClick={() => {
              setMode('view');
              void deleteConversation(conversation.id);
            }}
          >
            Confirm delete
          </button>
          <button type="button" className="button button-small" onClick={() => setMode('view')}>
            Cancel
          </button>
        </div>
      </li>
    );
  }

  return (
    <li className={className}>
      <button
        type="button"
        className="conversation-select"
        aria-current={active ? 'page' : undefined}
        aria-label={conversation.title}
        aria-describedby={metaId}
        title={conversation.title}
        onClick={() => void selectConversation(conversation.id)}
      >
        <span className="conversation-title">{conversation.title}</span>
        <span className="conversation-meta" id={metaId}>
          {conversation.documentIds.length === 1 ? '1 document' : `${conversation.documentIds.length} documents`}
        </span>
      </button>
      <div className="conversation-actions">
        <button
          type="button"
          className="icon-button"
          aria-label={`Rename ${conversation.title}`}
          title="Rename"
          onClick={() => {
            setTitle(conversation.title);
            editing.current = true;
            setMode('rename');
          }}
        >
          <Icon name="pencil" />
        </button>
        <button
          type="button"
          className="icon-button icon-button-danger"
          aria-label={`Delete ${conversation.title}`}
          title="Delete"
          onClick={() => setMode('confirm-delete')}
        >
          <Icon name="trash" />
        </button>
      </div>
    </li>
  );
}
