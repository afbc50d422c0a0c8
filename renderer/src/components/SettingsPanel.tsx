import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { ANSWER_SETTINGS, type EngineKind, type EngineSettings, type ErrorPayload, type KvCacheType, type KvReuse } from '../../../preload/api.ts';
import { useStrata } from '../store/useStrata.ts';
import './SettingsPanel.css';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** The form's text for each setting; numbers stay text until Apply so a half-typed value is not lost. */
interface Draft {
  engine: EngineKind;
  gpuAuto: boolean;
  gpuBudgetTokens: string;
  cpuTierMiB: string;
  diskBudgetGiB: string;
  chunkMinTokens: string;
  chunkMaxTokens: string;
  scoringLayers: string;
  reselectEveryTokens: string;
  kvCacheType: KvCacheType;
  kvReuse: KvReuse;
  recomputePercent: string;
  answerMaxTokens: string;
  temperature: string;
  systemPrompt: string;
}

function toDraft(s: EngineSettings): Draft {
  return {
    engine: s.engine,
    gpuAuto: s.gpuBudgetTokens === null,
    gpuBudgetTokens: s.gpuBudgetTokens === null ? '' : String(s.gpuBudgetTokens),
    cpuTierMiB: String(Math.round(s.cpuTierBytes / MIB)),
    diskBudgetGiB: String(Math.round((s.diskBudgetBytes / GIB) * 100) / 100),
    chunkMinTokens: s.chunkMinTokens === null ? '' : String(s.chunkMinTokens),
    chunkMaxTokens: s.chunkMaxTokens === null ? '' : String(s.chunkMaxTokens),
    scoringLayers: s.scoringLayers === null ? '' : s.scoringLayers.join(', '),
    reselectEveryTokens: String(s.reselectEveryTokens),
    kvCacheType: s.kvCacheType,
    kvReuse: s.kvReuse,
    recomputePercent: String(s.recomputePercent),
    answerMaxTokens: s.answerMaxTokens === null ? '' : String(s.answerMaxTokens),
    temperature: String(s.temperature),
    systemPrompt: s.systemPrompt ?? '',
  };
}

class DraftError extends Error {}

function number(label: string, text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) throw new DraftError(`${label} must be a number.`);
  return value;
}

/** Only what the user changed, converted to the contract's units. */
function toPatch(draft: Draft, initial: Draft): Partial<EngineSettings> {
  const patch: Partial<EngineSettings> = {};
  if (draft.engine !== initial.engine) patch.engine = draft.engine;
  if (draft.gpuAuto !== initial.gpuAuto || draft.gpuBudgetTokens !== initial.gpuBudgetTokens) {
    patch.gpuBudgetTokens = draft.gpuAuto ? null : number('GPU budget', draft.gpuBudgetTokens);
  }
  if (draft.cpuTierMiB !== initial.cpuTierMiB) patch.cpuTierBytes = Math.round(number('CPU tier', draft.cpuTierMiB) * MIB);
  if (draft.diskBudgetGiB !== initial.diskBudgetGiB) patch.diskBudgetBytes = Math.round(number('Disk budget', draft.diskBudgetGiB) * GIB);
  // Empty: automatic (the chunk bounds follow the GPU budget).
  if (draft.chunkMinTokens !== initial.chunkMinTokens) patch.chunkMinTokens = draft.chunkMinTokens.trim() === '' ? null : number('Smallest chunk', draft.chunkMinTokens);
  if (draft.chunkMaxTokens !== initial.chunkMaxTokens) patch.chunkMaxTokens = draft.chunkMaxTokens.trim() === '' ? null : number('Largest chunk', draft.chunkMaxTokens);
  if (draft.scoringLayers !== initial.scoringLayers) {
    const text = draft.scoringLayers.trim();
    patch.scoringLayers = text === '' ? null : text.split(/[\s,]+/).filter(Boolean).map((part) => number('Scoring layers', part));
  }
  if (draft.kvCacheType !== initial.kvCacheType) patch.kvCacheType = draft.kvCacheType;
  if (draft.kvReuse !== initial.kvReuse) patch.kvReuse = draft.kvReuse;
  if (draft.recomputePercent !== initial.recomputePercent) patch.recomputePercent = number('Recomputed share', draft.recomputePercent);
  if (draft.reselectEveryTokens !== initial.reselectEveryTokens) patch.reselectEveryTokens = number('Reselect every', draft.reselectEveryTokens);
  if (draft.answerMaxTokens !== initial.answerMaxTokens) patch.answerMaxTokens = draft.answerMaxTokens.trim() === '' ? null : number('Longest answer', draft.answerMaxTokens);
  if (draft.temperature !== initial.temperature) patch.temperature = number('Temperature', draft.temperature);
  if (draft.systemPrompt !== initial.systemPrompt) patch.systemPrompt = draft.systemPrompt.trim() === '' ? null : draft.systemPrompt;
  return patch;
}

function Field({ label, hint, children }: { label: string; hint?: string; children: (id: string, hintId?: string) => ReactNode }) {
  const id = useId();
  const hintId = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      {children(id, hint ? hintId : undefined)}
      {hint && (
        <span id={hintId} className="field-hint">
          {hint}
        </span>
      )}
    </div>
  );
}

/** The engine's settings: budgets, chunk sizes and selection; the engine validates and reopens the model. */
export function SettingsPanel() {
  const settings = useStrata((s) => s.settings);
  const loadError = useStrata((s) => s.settingsLoadError);
  const saving = useStrata((s) => s.settingsSaving);
  const loadSettings = useStrata((s) => s.loadSettings);
  const updateSettings = useStrata((s) => s.updateSettings);
  const [draft, setDraft] = useState<Draft | null>(settings ? toDraft(settings) : null);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [applied, setApplied] = useState<'reopened' | 'answers' | null>(null);

  useEffect(() => {
    void loadSettings();
  }, [loadSettings]);
  useEffect(() => {
    if (settings) setDraft(toDraft(settings));
  }, [settings]);

  if (!settings || !draft) {
    return (
      <section className="dashboard" aria-label="Engine settings">
        <h2 className="panel-title">Settings</h2>
        <p className="panel-hint">{loadError ? `Settings are unavailable: ${loadError}` : 'Loading settings…'}</p>
      </section>
    );
  }

  const initial = toDraft(settings);
  const edit = (change: Partial<Draft>) => {
    setDraft({ ...draft, ...change });
    setApplied(null);
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!draft) return;
    let patch: Partial<EngineSettings>;
    try {
      patch = toPatch(draft, initial);
    } catch (err) {
      if (!(err instanceof DraftError)) throw err;
      setError({ code: 'INVALID_SETTING', message: err.message });
      return;
    }
    if (Object.keys(patch).length === 0) return;
    setError(null);
    const refusal = await updateSettings(patch);
    setError(refusal);
    setApplied(refusal !== null ? null : Object.keys(patch).every((key) => ANSWER_SETTINGS.includes(key as keyof EngineSettings)) ? 'answers' : 'reopened');
  }

  const text = (key: keyof Draft) => ({
    value: draft[key] as string,
    onChange: (e: { target: { value: string } }) => edit({ [key]: e.target.value } as Partial<Draft>),
  });

  return (
    <section className="dashboard" aria-label="Engine settings">
      <h2 className="panel-title">Settings</h2>
      <form className="settings" onSubmit={(e) => void submit(e)} noValidate>
        <Field label="Engine">
          {(id) => (
            <select id={id} className="input" value={draft.engine} onChange={(e) => edit({ engine: e.target.value as EngineKind })}>
              <option value="tiered">Tiered (GPU, RAM and disk)</option>
              <option value="standard">Standard (full KV cache)</option>
            </select>
          )}
        </Field>
        <Field label="KV cache type" hint="q8_0 halves and q4_0 quarters the KV bytes in every tier; documents are read again in the new type.">
          {(id, hintId) => (
            <select id={id} className="input" aria-describedby={hintId} value={draft.kvCacheType} onChange={(e) => edit({ kvCacheType: e.target.value as KvCacheType })}>
              <option value="f16">f16 (exact)</option>
              <option value="q8_0">q8_0 (half the bytes)</option>
              <option value="q4_0">q4_0 (a quarter)</option>
            </select>
          )}
        </Field>
        <Field label="Document reuse" hint="Library: each document is read once and reused in any set or order. Exact: each set of documents is read whole, token for token the standard engine's prompt.">
          {(id, hintId) => (
            <select id={id} className="input" aria-describedby={hintId} value={draft.kvReuse} onChange={(e) => edit({ kvReuse: e.target.value as KvReuse })}>
              <option value="library">Library (read once, any combination)</option>
              <option value="exact">Exact (each set read whole)</option>
            </select>
          )}
        </Field>
        <Field label="Recomputed share (%)" hint="Library: each document's first tokens evaluated again in each new set, at most a chunk per document.">
          {(id, hintId) => <input id={id} className="input" inputMode="decimal" aria-describedby={hintId} disabled={draft.kvReuse !== 'library'} {...text('recomputePercent')} />}
        </Field>
        <Field label="GPU budget (tokens)" hint="KV cells the GPU tier may hold.">
          {(id, hintId) => (
            <div className="field-row">
              <input
                id={id}
                className="input"
                inputMode="numeric"
                aria-describedby={hintId}
                disabled={draft.gpuAuto}
                placeholder="automatic"
                {...text('gpuBudgetTokens')}
              />
              <label className="checkbox-label">
                <input
                  type="checkbox"
                  className="checkbox"
                  checked={draft.gpuAuto}
                  onChange={(e) =>
                    edit({ gpuAuto: e.target.checked, gpuBudgetTokens: e.target.checked ? '' : draft.gpuBudgetTokens || '4096' })
                  }
                />
                Automatic
              </label>
            </div>
          )}
        </Field>
        <Field label="CPU tier (MiB)" hint="RAM for KV chunks that are not on the GPU.">
          {(id, hintId) => <input id={id} className="input" inputMode="numeric" aria-describedby={hintId} {...text('cpuTierMiB')} />}
        </Field>
        <Field label="Disk budget (GiB)">
          {(id) => <input id={id} className="input" inputMode="decimal" {...text('diskBudgetGiB')} />}
        </Field>
        <div className="field-pair">
          <Field label="Smallest chunk (tokens)">
            {(id) => <input id={id} className="input" inputMode="numeric" placeholder="automatic" {...text('chunkMinTokens')} />}
          </Field>
          <Field label="Largest chunk (tokens)">
            {(id) => <input id={id} className="input" inputMode="numeric" placeholder="automatic" {...text('chunkMaxTokens')} />}
          </Field>
        </div>
        <Field label="Scoring layers" hint="Comma-separated layer numbers; empty picks them per model.">
          {(id, hintId) => <input id={id} className="input" placeholder="automatic" aria-describedby={hintId} {...text('scoringLayers')} />}
        </Field>
        <Field label="Reselect every (tokens)" hint="0 keeps the first selection for the whole answer.">
          {(id, hintId) => <input id={id} className="input" inputMode="numeric" aria-describedby={hintId} {...text('reselectEveryTokens')} />}
        </Field>
        <div className="field-pair">
          <Field label="Longest answer (tokens)" hint="Empty: 1,024 for chat models, 256 in raw completion.">
            {(id, hintId) => <input id={id} className="input" inputMode="numeric" placeholder="automatic" aria-describedby={hintId} {...text('answerMaxTokens')} />}
          </Field>
          <Field label="Temperature" hint="0 gives the same answer every time.">
            {(id, hintId) => <input id={id} className="input" inputMode="decimal" aria-describedby={hintId} {...text('temperature')} />}
          </Field>
        </div>
        <Field label="System prompt" hint="Your instructions for every answer (tone, language, format). They follow the documents, so changing them never reads the documents again.">
          {(id, hintId) => <textarea id={id} className="input" rows={3} placeholder="none" aria-describedby={hintId} {...text('systemPrompt')} />}
        </Field>

        {error && (
          <div className="notice notice-error" role="alert" data-testid="settings-error">
            <span className="notice-text">
              {error.message} <code className="error-code">{error.code}</code>
            </span>
          </div>
        )}
        {applied && !error && (
          <p className="settings-applied" role="status">
            {applied === 'answers' ? 'Settings applied to the next answers.' : 'Settings applied. The model was reopened with them.'}
          </p>
        )}
        <div className="settings-actions">
          <button type="button" className="button button-small" disabled={saving} onClick={() => { setDraft(initial); setError(null); }}>
            Revert changes
          </button>
          <button type="submit" className="button button-primary button-small" disabled={saving}>
            {saving && <span className="spinner" aria-hidden="true" />} Apply settings
          </button>
        </div>
      </form>
    </section>
  );
}
