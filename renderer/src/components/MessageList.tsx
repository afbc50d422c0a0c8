import { useLayoutEffect, useRef, type ReactNode } from 'react';

/** Scrolls with new content while the reader is at the bottom; leaves them alone once they scroll up. */
export function MessageList({ children }: { children: ReactNode }) {
  const list = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  useLayoutEffect(() => {
    const el = list.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  });

  return (
    <div
      ref={list}
      className="messages"
      aria-label="Conversation history"
      role="region"
      onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
      }}
    >
      <div className="messages-inner">{children}</div>
    </div>
  );
}
