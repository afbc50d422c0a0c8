// What a user sees and does in Strata's window, by accessible names (the same in Electron and the browser).
import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';
import { join } from 'node:path';
import type { StrataApp } from '../fixtures/strataApp.ts';
import { artifactsDir } from '../fixtures/paths.ts';

export interface DroppedFile {
  name: string;
  /** A string is dropped as its UTF-8 bytes. */
  contents: string | Uint8Array;
}

/** What happened between two screenshots that polling could miss: rows and answers that came and went fast. */
export interface Recording {
  /** File names that had an import progress bar at some point. */
  importing: string[];
  /** The last text an assistant answer showed while it was still streaming. */
  streamingText: string;
  /** Whether the Stop button was on screen while an answer streamed. */
  stopShownWhileStreaming: boolean;
}

export class StrataPage {
  private readonly app: StrataApp;

  constructor(app: StrataApp) {
    this.app = app;
  }

  get page(): Page {
    return this.app.page;
  }

  get modelPath(): Locator {
    return this.page.getByRole('textbox', { name: 'Model file path' });
  }
  get currentModel(): Locator {
    return this.page.getByTestId('current-model');
  }
  get modelError(): Locator {
    return this.page.getByTestId('model-error');
  }
  get conversations(): Locator {
    return this.page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem');
  }
  conversation(title: string): Locator {
    return this.page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: title, exact: true });
  }
  get documents(): Locator {
    return this.page.getByRole('region', { name: 'Documents' }).getByRole('list', { name: 'Document list' }).getByRole('listitem');
  }
  document(fileName: string): Locator {
    return this.documents.filter({ has: this.documentInUse(fileName) });
  }
  documentInUse(fileName: string): Locator {
    return this.page.getByRole('checkbox', { name: `Use ${fileName} in this conversation` });
  }
  /** A document's KV for the open model: "not read", "reading 42%", "read · 12 MB · on disk", "stopped at 40% (resumes)". */
  documentKv(fileName: string): Locator {
    return this.page.getByRole('status', { name: `KV of ${fileName}`, exact: true });
  }
  prepareButton(fileName: string): Locator {
    return this.page.getByRole('button', { name: `Prepare ${fileName}`, exact: true });
  }
  stopPreparingButton(fileName: string): Locator {
    return this.page.getByRole('button', { name: `Stop preparing ${fileName}`, exact: true });
  }
  importError(fileName: string): Locator {
    return this.page.getByRole('alert').filter({ hasText: `Could not import ${fileName}:` });
  }
  get dropOverlay(): Locator {
    return this.page.getByTestId('drop-overlay');
  }
  get messageBox(): Locator {
    return this.page.getByRole('textbox', { name: 'Message' });
  }
  get stopButton(): Locator {
    return this.page.getByRole('button', { name: 'Stop' });
  }
  get userMessages(): Locator {
    return this.page.getByRole('article', { name: 'User message' });
  }
  get assistantMessages(): Locator {
    return this.page.getByRole('article', { name: 'Assistant message' });
  }

  get regenerateButton(): Locator {
    return this.page.getByRole('button', { name: 'Regenerate answer' });
  }
  copyButton(answer: Locator): Locator {
    return answer.getByRole('button', { name: 'Copy answer' });
  }

  // ---- side panel: Documents, Memory, Latency, Settings ----
  sideTab(name: 'Documents' | 'Memory' | 'Latency' | 'Settings'): Locator {
    return this.page.getByRole('tablist', { name: 'Side panel' }).getByRole('tab', { name, exact: true });
  }
  async openSideTab(name: 'Documents' | 'Memory' | 'Latency' | 'Settings'): Promise<void> {
    await this.sideTab(name).click();
    await expect(this.sideTab(name)).toHaveAttribute('aria-selected', 'true');
  }
  get memoryDashboard(): Locator {
    return this.page.getByRole('region', { name: 'Memory dashboard' });
  }
  get latencyDashboard(): Locator {
    return this.page.getByRole('region', { name: 'Latency dashboard' });
  }
  get settingsPanel(): Locator {
    return this.page.getByRole('region', { name: 'Engine settings' });
  }
  /**
   * Sets "Longest answer (tokens)" in the Settings tab and applies it. A test that acts while an answer
   * streams needs answers long enough to still be streaming: the needle model writes hundreds of tokens
   * a second, so the automatic 256 can be over before a click lands.
   */
  async setLongestAnswer(tokens: number): Promise<void> {
    await this.openSideTab('Settings');
    await this.settingsPanel.getByRole('textbox', { name: 'Longest answer (tokens)' }).fill(String(tokens));
    await this.settingsPanel.getByRole('button', { name: 'Apply settings' }).click();
    await expect(this.settingsPanel.getByRole('status')).toContainText('Settings applied');
  }
  /** Residency map cells, named like `Chunk 12: GPU, read`. */
  get residencyCells(): Locator {
    return this.memoryDashboard.getByRole('button', { name: /^Chunk \d+: / });
  }
  residencyCell(index: number): Locator {
    return this.memoryDashboard.getByRole('button', { name: new RegExp(`^Chunk ${index}: `) });
  }
  /** The document view: the document's text with what the model read highlighted. */
  get documentView(): Locator {
    return this.page.getByRole('dialog', { name: /^Document / });
  }
  get readPassages(): Locator {
    return this.documentView.locator('mark');
  }
  get ingestProgress(): Locator {
    return this.page.getByRole('progressbar', { name: 'Documents read into memory' });
  }

  /**
   * Every control (button, text box, checkbox, select, tab, …) the browser's accessibility tree has
   * with an empty accessible name, as `role "text"` lines; Chromium computes the names itself.
   */
  async unnamedControls(): Promise<string[]> {
    const cdp = await this.page.context().newCDPSession(this.page);
    try {
      const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
        nodes: { ignored: boolean; role?: { value: string }; name?: { value: string }; backendDOMNodeId?: number }[];
      };
      const controls = new Set(['button', 'textbox', 'searchbox', 'checkbox', 'radio', 'combobox', 'listbox', 'spinbutton', 'slider', 'switch', 'tab', 'menuitem']);
      const unnamed: string[] = [];
      for (const node of nodes) {
        const role = node.role?.value ?? '';
        if (node.ignored || !controls.has(role) || (node.name?.value ?? '').trim() !== '') continue;
        let html = '';
        if (node.backendDOMNodeId !== undefined) {
          const { outerHTML } = (await cdp.send('DOM.getOuterHTML', { backendNodeId: node.backendDOMNodeId })) as { outerHTML: string };
          html = outerHTML.slice(0, 160);
        }
        unnamed.push(`${role} ${html}`);
      }
      return unnamed;
    } finally {
      await cdp.detach();
    }
  }

  /** After a (re)load: the socket is up and the engine's state is on screen. */
  async waitUntilLoaded(): Promise<void> {
    await expect(this.page.getByRole('status').filter({ hasText: /Connecting to Strata|Lost the connection/ })).toHaveCount(0);
    await expect(
      this.page.getByRole('main').getByText(/No model open|Ask a question about your documents/).or(this.userMessages.first()),
    ).toBeVisible();
  }

  async openModel(path: string): Promise<void> {
    await this.modelPath.fill(path);
    await this.page.getByRole('button', { name: 'Open model', exact: true }).click();
  }

  /** A real drop: files made in the page, dragged in over the window (the overlay shows), then dropped. */
  async dropFiles(files: DroppedFile[]): Promise<void> {
    const payload = files.map((f) => ({ name: f.name, base64: Buffer.from(f.contents).toString('base64') }));
    const dataTransfer = await this.page.evaluateHandle((list) => {
      const transfer = new DataTransfer();
      for (const { name, base64 } of list) {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name));
      }
      return transfer;
    }, payload);
    await this.page.dispatchEvent('body', 'dragenter', { dataTransfer });
    await this.page.dispatchEvent('body', 'dragover', { dataTransfer });
    await expect(this.dropOverlay).toBeVisible();
    await this.page.dispatchEvent('body', 'drop', { dataTransfer });
    await expect(this.dropOverlay).toBeHidden();
    await dataTransfer.dispose();
  }

  /** Types the question and presses Enter; returns this question's answer (streaming, then stored). */
  async ask(question: string): Promise<Locator> {
    const answerIndex = await this.assistantMessages.count();
    await this.messageBox.fill(question);
    await this.messageBox.press('Enter');
    return this.assistantMessages.nth(answerIndex);
  }

  /** Waits until the answer stops streaming (complete, stopped or failed). */
  async waitForAnswer(answer: Locator): Promise<void> {
    await expect(answer).toHaveAttribute('data-status', /^(complete|stopped|error)$/, { timeout: 90_000 });
  }

  /** The message's own text, without the speaker label and the metrics line. */
  async messageText(message: Locator): Promise<string> {
    return ((await message.locator('.message-text').textContent()) ?? '').trim();
  }

  async stop(): Promise<void> {
    await this.stopButton.click();
  }

  /** Starts watching the DOM for what a poll could miss; read it with recording(). Lasts until the next load. */
  async startRecording(): Promise<void> {
    await this.page.evaluate(() => {
      const state = { importing: [] as string[], streamingText: '', stopShownWhileStreaming: false };
      (window as unknown as { __strataRecording: typeof state }).__strataRecording = state;
      const observe = () => {
        for (const bar of Array.from(document.querySelectorAll('progress[aria-label^="Importing "]'))) {
          const name = bar.getAttribute('aria-label')!.slice('Importing '.length);
          if (!state.importing.includes(name)) state.importing.push(name);
        }
        const streaming = document.querySelector('article[aria-label="Assistant message"][data-status="streaming"]');
        if (!streaming) return;
        const text = streaming.querySelector('.message-text')?.textContent ?? '';
        if (text) state.streamingText = text;
        if (Array.from(document.querySelectorAll('button')).some((b) => b.textContent?.trim() === 'Stop')) state.stopShownWhileStreaming = true;
      };
      new MutationObserver(observe).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
  }

  async recording(): Promise<Recording> {
    return this.page.evaluate(() => (window as unknown as { __strataRecording: Recording }).__strataRecording);
  }

  /** Saves e2e/artifacts/<name>.png and attaches it to the test's report. */
  async screenshot(testInfo: TestInfo, name: string): Promise<void> {
    const path = join(artifactsDir, `${name}.png`);
    await this.page.screenshot({ path });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  }
}
