import { ChatView } from './ChatView.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { ConversationList } from './ConversationList.tsx';
import { DocumentView } from './DocumentView.tsx';
import { DropOverlay } from './DropOverlay.tsx';
import { Header } from './Header.tsx';
import { Notices } from './Notices.tsx';
import { SidePanel } from './SidePanel.tsx';
import { useFileDrop } from '../hooks/useFileDrop.ts';
import { dropFiles } from '../store/dropFiles.ts';

function onDrop(files: File[]) {
  void dropFiles(files);
}

export function App() {
  const dragging = useFileDrop(onDrop);
  return (
    <div className="app">
      <Header />
      <ConnectionBanner />
      <Notices />
      <div className="workspace">
        <ConversationList />
        <ChatView />
        <SidePanel />
      </div>
      <DocumentView />
      <DropOverlay visible={dragging} />
    </div>
  );
}
