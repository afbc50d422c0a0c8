// The downloads of the Models panel and `strata models pull`: one per model URI, with progress (bytes,
// speed, time left), cancel (the partial file is kept: the download is paused), resume (also after a
// restart: the list of unfinished downloads is kept beside their partial files), discard, and the
// SHA-256 check before a file reaches the models folder (pullModel).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DownloadInfo } from '../../../preload/api.ts';
import { errorPayload } from '../../engine/errors.ts';
import { parseHfUri } from './hubClient.ts';
import { discardStaged, pullModel, STAGING_DIR, stagedBytes } from './pullModel.ts';

const RECORDS_FILE = 'downloads.json';
const PROGRESS_EVERY_MS = 250;

/** A download's state with nothing moving: no speed, no time left, no file, no error unless given. */
function downloadInfo(uri: string, state: DownloadInfo['state'], more: Partial<DownloadInfo> = {}): DownloadInfo {
  return { uri, fileName: basename(parseHfUri(uri).file), state, downloadedBytes: 0, totalBytes: 0, bytesPerSecond: 0, secondsLeft: null, path: null, error: null, ...more };
}

interface DownloadRecord {
  uri: string;
  totalBytes: number;
  startedAt: number;
}

interface Running {
  info: DownloadInfo;
  controller: AbortController;
  done: Promise<DownloadInfo>;
}

export interface ModelDownloadsOptions {
  modelsDir: string;
  endpoint: () => string;
  /** How long a silent connection is waited for before it is asked again (tests shorten it). */
  stallMs?: number;
  onChange?: (info: DownloadInfo) => void;
}

export class ModelDownloads {
  private readonly running = new Map<string, Running>();
  private readonly options: ModelDownloadsOptions;
  private records: Promise<DownloadRecord[]> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(options: ModelDownloadsOptions) {
    this.options = options;
  }

  /** Running downloads, then the unfinished ones of earlier runs (paused, resumable). */
  async list(): Promise<DownloadInfo[]> {
    const list = [...this.running.values()].map((r) => ({ ...r.info }));
    for (const record of await this.loadRecords()) {
      if (this.running.has(record.uri)) continue;
      list.push(downloadInfo(record.uri, 'paused', { downloadedBytes: await stagedBytes(this.options.modelsDir, record.uri), totalBytes: record.totalBytes }));
    }
    return list;
  }

  /**
   * Starts (or resumes) a download and resolves when it ends: 'done' with the checked file's path,
   * 'paused' after cancel, or 'failed' with the error (a damaged file is removed).
   */
  start(uri: string): Promise<DownloadInfo> {
    const already = this.running.get(uri);
    if (already) return already.done;
    const info = downloadInfo(uri, 'downloading');
    const running: Running = { info, controller: new AbortController(), done: Promise.resolve(info) };
    this.running.set(uri, running);
    running.done = this.run(running);
    return running.done;
  }

  /** Stops a download, keeping what arrived so far. */
  cancel(uri: string): void {
    this.running.get(uri)?.controller.abort();
  }

  /** Stops a download if it runs and removes its partial file. */
  async discard(uri: string): Promise<void> {
    const running = this.running.get(uri);
    if (running) {
      running.controller.abort();
      await running.done;
    }
    await discardStaged(this.options.modelsDir, uri);
    await this.updateRecords((records) => records.filter((r) => r.uri !== uri));
    this.options.onChange?.(downloadInfo(uri, 'discarded'));
  }

  /** Pauses every running download (its partial file stays for the next run). */
  async dispose(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private async run(running: Running): Promise<DownloadInfo> {
    const { info, controller } = running;
    const { uri } = info;
    let lastEmit = 0;
    let trailing: NodeJS.Timeout | null = null;
    // At most every PROGRESS_EVERY_MS, and the latest state always goes out (a line that goes quiet
    // must still show how far it got).
    const emit = (force = false) => {
      const now = performance.now();
      if (!force && now - lastEmit < PROGRESS_EVERY_MS) {
        trailing ??= setTimeout(() => {
          trailing = null;
          emit(true);
        }, PROGRESS_EVERY_MS - (now - lastEmit));
        return;
      }
      if (trailing) clearTimeout(trailing);
      trailing = null;
      lastEmit = now;
      this.options.onChange?.({ ...info });
    };
    emit(true);
    try {
      info.downloadedBytes = await stagedBytes(this.options.modelsDir, uri);
      await this.updateRecords((records) => (records.some((r) => r.uri === uri) ? records : [...records, { uri, totalBytes: 0, startedAt: Date.now() }]));
      const pulled = await pullModel({
        uri,
        modelsDir: this.options.modelsDir,
        endpoint: this.options.endpoint(),
        signal: controller.signal,
        stallMs: this.options.stallMs,
        onProgress: (detail) => {
          // The record keeps the size for the paused row after a restart (the bytes are the part file's).
          if (info.totalBytes === 0 && detail.totalBytes > 0) {
            const { totalBytes } = detail;
            void this.updateRecords((records) => records.map((r) => (r.uri === uri ? { ...r, totalBytes } : r)));
          }
          Object.assign(info, detail);
          emit();
        },
        onVerifying: () => {
          info.state = 'verifying';
          info.bytesPerSecond = 0;
          info.secondsLeft = null;
          emit(true);
        },
      });
      Object.assign(info, { state: 'done', path: pulled.path, downloadedBytes: pulled.sizeBytes, totalBytes: pulled.sizeBytes, bytesPerSecond: 0, secondsLeft: null });
      await this.updateRecords((records) => records.filter((r) => r.uri !== uri));
    } catch (error) {
      if (controller.signal.aborted) {
        Object.assign(info, { state: 'paused', bytesPerSecond: 0, secondsLeft: null });
        info.downloadedBytes = await stagedBytes(this.options.modelsDir, uri);
      } else {
        const payload = errorPayload(error);
        const damaged = payload.code === 'DOWNLOAD_CORRUPT' || payload.code === 'NOT_FOUND' || payload.code === 'BAD_MODEL_URI';
        // A damaged or missing file starts over; a dropped connection keeps its bytes to resume.
        if (damaged) {
          await discardStaged(this.options.modelsDir, uri);
          await this.updateRecords((records) => records.filter((r) => r.uri !== uri));
        }
        Object.assign(info, { state: damaged ? 'failed' : 'paused', error: payload, bytesPerSecond: 0, secondsLeft: null });
      }
    } finally {
      this.running.delete(uri);
    }
    // Whatever the outcome, the record says so before the caller hears it (a restart may follow).
    await this.writing.catch(() => undefined);
    emit(true);
    return { ...info };
  }

  private loadRecords(): Promise<DownloadRecord[]> {
    this.records ??= readFile(join(this.options.modelsDir, STAGING_DIR, RECORDS_FILE), 'utf8')
      .then((text) => (JSON.parse(text) as DownloadRecord[]).filter((r) => typeof r?.uri === 'string'))
      .catch(() => []);
    return this.records;
  }

  private updateRecords(change: (records: DownloadRecord[]) => DownloadRecord[]): Promise<void> {
    this.writing = this.writing.catch(() => undefined).then(async () => {
      const next = change(await this.loadRecords());
      this.records = Promise.resolve(next);
      const dir = join(this.options.modelsDir, STAGING_DIR);
      await mkdir(dir, { recursive: true });
      const file = join(dir, RECORDS_FILE);
      await writeFile(`${file}.tmp`, JSON.stringify(next));
      await rename(`${file}.tmp`, file);
    });
    return this.writing;
  }
}
