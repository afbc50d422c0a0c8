// A StrataService for tests (the browser host's kind, a given data folder and settings) that records
// every event it emits; disposed when the test ends.
import type { TestContext } from 'node:test';
import type { EngineSettings, StrataEvents } from '../../preload/api.ts';
import { StrataService } from '../services/StrataService.ts';

export type RecordedEvent = { [E in keyof StrataEvents]: { event: E; payload: StrataEvents[E] } }[keyof StrataEvents];

export function recordingService(t: TestContext, options: { dataDir: string; settingsOverride?: Partial<EngineSettings>; onEvent?: (e: RecordedEvent) => void }) {
  const events: RecordedEvent[] = [];
  const service: StrataService = new StrataService({
    dataDir: options.dataDir,
    host: 'browser',
    version: 'test',
    settingsOverride: options.settingsOverride,
    emit: (event, payload) => {
      const recorded = { event, payload } as RecordedEvent;
      events.push(recorded);
      options.onEvent?.(recorded);
    },
  });
  t.after(() => service.dispose());
  return { service, events };
}
