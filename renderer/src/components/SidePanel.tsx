import { useRef, type KeyboardEvent } from 'react';
import type { SidePanelTab } from '../store/createViewSlice.ts';
import { useStrata } from '../store/useStrata.ts';
import { DocumentsPanel } from './DocumentsPanel.tsx';
import { LatencyDashboard } from './LatencyDashboard.tsx';
import { MemoryDashboard } from './MemoryDashboard.tsx';
import { ModelsPanel } from './models/ModelsPanel.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import './SidePanel.css';

const tabs: { id: SidePanelTab; label: string }[] = [
  { id: 'documents', label: 'Documents' },
  { id: 'models', label: 'Models' },
  { id: 'memory', label: 'Memory' },
  { id: 'latency', label: 'Latency' },
  { id: 'settings', label: 'Settings' },
];

/** The right-hand column: documents, models, the memory and latency dashboards, and engine settings, as tabs. */
export function SidePanel() {
  const active = useStrata((s) => s.sidePanelTab);
  const setTab = useStrata((s) => s.setSidePanelTab);
  const list = useRef<HTMLDivElement>(null);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const index = tabs.findIndex((t) => t.id === active);
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = tabs[(index + step + tabs.length) % tabs.length]!;
    setTab(next.id);
    list.current?.querySelector<HTMLButtonElement>(`#side-tab-${next.id}`)?.focus();
  }

  return (
    <aside className="side-panel">
      <div className="tabs" role="tablist" aria-label="Side panel" ref={list} onKeyDown={onKeyDown}>
        {tabs.map((tab) => (
          <button
            key={tab.id}
            id={`side-tab-${tab.id}`}
            type="button"
            role="tab"
            className="tab"
            aria-selected={tab.id === active}
            aria-controls={`side-panel-${tab.id}`}
            tabIndex={tab.id === active ? 0 : -1}
            onClick={() => setTab(tab.id)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`side-panel-${active}`} aria-labelledby={`side-tab-${active}`}>
        {active === 'documents' && <DocumentsPanel />}
        {active === 'models' && <ModelsPanel />}
        {active === 'memory' && <MemoryDashboard />}
        {active === 'latency' && <LatencyDashboard />}
        {active === 'settings' && <SettingsPanel />}
      </div>
    </aside>
  );
}
