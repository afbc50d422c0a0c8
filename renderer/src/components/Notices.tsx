import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';
import { ModelErrorAlert } from './ModelErrorAlert.tsx';
import './Notices.css';

/** Errors and hints that are not tied to one row: model load failures, failed calls. */
export function Notices() {
  const notices = useStrata((s) => s.notices);
  const dismiss = useStrata((s) => s.dismissNotice);
  return (
    <div className="notices">
      <ModelErrorAlert />
      {notices.map((notice) => (
        <div
          key={notice.id}
          className={`notice notice-${notice.tone}`}
          role={notice.tone === 'error' ? 'alert' : 'status'}
        >
          <span className="notice-text">{notice.message}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(notice.id)}>
            <Icon name="close" />
          </button>
        </div>
      ))}
    </div>
  );
}
