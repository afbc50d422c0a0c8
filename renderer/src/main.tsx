import './styles/base.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.tsx';
import { loadInitialState } from './store/loadInitialState.ts';
import { subscribeToEngine } from './store/subscribeToEngine.ts';
// After every component's styles: its media-query overrides must win.
import './styles/narrow.css';

// Once, outside React: StrictMode runs effects twice, and engine events must land exactly once.
subscribeToEngine();
void loadInitialState();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
