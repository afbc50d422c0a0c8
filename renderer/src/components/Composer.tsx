import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { useStrata } from '../store/useStrata.ts';
import { selectIsAsking, selectIsStopping } from '../store/selectors.ts';
import { Icon } from './Icon.tsx';

export function Composer() {
  const hasModel = useStrata((s) => s.model !== null);
  const asking = useStrata(selectIsAsking);
  const stopping = useStrata(selectIsStopping);
  const send = useStrata((s) => s.send);
  const stop = useStrata((s) => s.stop);
  const [text, setText] = useState('');
  const canSend = hasModel && !asking && text.trim() !== '';

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!canSend) return;
    const question = text;
    setText('');
    const ok = await send(question);
    // Not answered: give the question back unless the user already typed another.
    if (!ok) setText((current) => (current === '' ? question : current));
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={(e) => void submit(e)}>
      <textarea
        className="composer-input"
        aria-label="Message"
        placeholder={hasModel ? 'Ask about your documents…' : 'Open a model to start asking…'}
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-actions">
        <span className="composer-hint">Enter to send · Shift+Enter for a new line</span>
        {asking && (
          <button type="button" className="button button-danger" disabled={stopping} onClick={() => void stop()}>
            <Icon name="stop" /> Stop
          </button>
        )}
        <button type="submit" className="button button-primary" disabled={!canSend}>
          Send <Icon name="send" />
        </button>
      </div>
    </form>
  );
}
