import { useEffect, useState } from 'react';
import { copyText } from '../clipboard/copyText.ts';
import { selectIsAsking } from '../store/selectors.ts';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

/** Under an answer: Copy, and on the last answer Regenerate. */
export function MessageActions({ text, canRegenerate }: { text: string; canRegenerate: boolean }) {
  const asking = useStrata(selectIsAsking);
  const regenerate = useStrata((s) => s.regenerate);
  const notify = useStrata((s) => s.notify);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);

  async function copy() {
    if (await copyText(text)) setCopied(true);
    else notify('Could not copy the answer: the clipboard is not available here.');
  }

  return (
    <div className="message-actions">
      <button type="button" className="icon-button" aria-label="Copy answer" title="Copy answer" onClick={() => void copy()}>
        <Icon name={copied ? 'check' : 'copy'} />
      </button>
      <span className="visually-hidden" role="status">
        {copied ? 'Copied' : ''}
      </span>
      {canRegenerate && (
        <button
          type="button"
          className="icon-button"
          aria-label="Regenerate answer"
          title="Regenerate answer"
          disabled={asking}
          onClick={() => void regenerate()}
        >
          <Icon name="refresh" />
        </button>
      )}
    </div>
  );
}
