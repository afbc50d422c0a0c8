// Electron preload: exposes an envelope-moving invoke limited to the contract's channels and a
// subscribe function, never ipcRenderer itself.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { eventNames, listChannels, type EventName, type StrataBridge, type StrataEvents } from './api.ts';

const channels = new Set<string>(listChannels());

const bridge: StrataBridge = {
  host: 'electron',
  invoke(channel, arg) {
    if (!channels.has(channel)) return Promise.reject(new TypeError(`Unknown channel: ${channel}`));
    return ipcRenderer.invoke(channel, arg);
  },
  on<E extends EventName>(event: E, listener: (payload: StrataEvents[E]) => void) {
    if (!(event in eventNames)) throw new TypeError(`Unknown event: ${String(event)}`);
    const handler = (_e: unknown, payload: StrataEvents[E]) => listener(payload);
    ipcRenderer.on(event, handler);
    return () => {
      ipcRenderer.removeListener(event, handler);
    };
  },
  getPathForFile(file: File) {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld('strata', bridge);
