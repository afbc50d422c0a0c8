import type { MessageInfo } from '../../../preload/api.ts';
import type { Stream } from '../store/createChatSlice.ts';
import { MarkdownText } from './MarkdownText.tsx';
import { MessageActions } from './MessageActions.tsx';
import { MessageMetrics } from './MessageMetrics.tsx';
import './MessageItem.css';

type Props =
  | { message: MessageInfo; stream?: undefined; canRegenerate?: boolean }
  | { stream: Stream; message?: undefined; canRegenerate?: undefined };

/** A stored message, or the assistant answer still streaming in. */
export function MessageItem({ message, stream, canRegenerate = false }: Props) {
  const role = message ? message.role : 'assistant';
  const text = message ? message.text : stream.text;
  const status = message ? message.status : 'streaming';
  const label = role === 'user' ? 'User message' : 'Assistant message';

  return (
    <article
      className={`message message-${role} message-${status}`}
      aria-label={label}
      aria-busy={stream ? true : undefined}
      data-status={status}
    >
      <div className="message-role" aria-hidden="true">
        {role === 'user' ? 'You' : 'Strata'}
        {status === 'stopped' && <span className="pill pill-warn">stopped</span>}
        {status === 'streaming' && stream?.stopping && <span className="pill">stopping…</span>}
      </div>
      {text ? (
        role === 'assistant' ? (
          <div className="message-text markdown">
            <MarkdownText text={text} />
            {stream && <span className="caret" aria-hidden="true" />}
          </div>
        ) : (
          <div className="message-text">{text}</div>
        )
      ) : stream ? (
        <div className="message-text message-thinking">
          <span className="dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>{' '}
          Reading the documents…
        </div>
      ) : null}
      {message?.status === 'error' && (
        <p className="message-error">
          {message.error?.message ?? 'The answer failed.'}
          {message.error && <code className="error-code">{message.error.code}</code>}
        </p>
      )}
      {message?.role === 'assistant' && (message.metrics || message.text || canRegenerate) && (
        <div className="message-footer">
          {message.metrics && <MessageMetrics metrics={message.metrics} />}
          <MessageActions text={message.text} canRegenerate={canRegenerate} />
        </div>
      )}
      {message?.role === 'user' && message.metrics && <MessageMetrics metrics={message.metrics} />}
    </article>
  );
}
