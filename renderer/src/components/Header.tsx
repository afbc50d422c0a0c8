import { ModelBadge } from './ModelBadge.tsx';
import { ModelPicker } from './ModelPicker.tsx';
import { RecentModels } from './RecentModels.tsx';
import './Header.css';

export function Header() {
  return (
    <header className="header">
      <div className="header-row">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">Strata</span>
        </div>
        <ModelBadge />
        <ModelPicker />
      </div>
      <RecentModels />
    </header>
  );
}
