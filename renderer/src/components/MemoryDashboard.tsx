import { useEffect } from 'react';
import type { TierName } from '../../../preload/api.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { formatCount } from '../format/formatCount.ts';
import { selectActiveConversation, selectActiveResidency } from '../store/selectors.ts';
import { useStrata } from '../store/useStrata.ts';
import { ResidencyMap } from './ResidencyMap.tsx';
import { TierUsage, tierLabels } from './TierUsage.tsx';

const hitLabels: Record<TierName, string> = {
  gpu: 'already resident',
  cpu: 'spliced from RAM',
  disk: 'read from disk',
};

/** Where the KV cache lives right now (pushed by the engine several times a second while it works). */
export function MemoryDashboard() {
  const memory = useStrata((s) => s.memory);
  const memoryError = useStrata((s) => s.memoryError);
  const residency = useStrata(selectActiveResidency);
  const residencyError = useStrata((s) => s.residencyError);
  const conversation = useStrata(selectActiveConversation);
  const documents = useStrata((s) => s.documents);
  const refreshMemory = useStrata((s) => s.refreshMemory);
  const refreshResidency = useStrata((s) => s.refreshResidency);
  const conversationId = conversation?.id ?? null;

  useEffect(() => {
    void refreshMemory();
  }, [refreshMemory]);
  useEffect(() => {
    if (conversationId) void refreshResidency(conversationId);
  }, [conversationId, refreshResidency]);

  return (
    <section className="dashboard" aria-label="Memory dashboard">
      <div className="panel-header">
        <h2 className="panel-title">Memory</h2>
        {memory && <span className="dashboard-stamp">{memory.engine ? `${memory.engine} engine` : 'no model'}</span>}
      </div>

      {!memory ? (
        <p className="panel-hint">{memoryError ? `Memory figures are unavailable: ${memoryError}` : 'Waiting for the engine…'}</p>
      ) : (
        <>
          <h3 className="dashboard-heading">KV cache by tier</h3>
          <TierUsage memory={memory} />

          <h3 className="dashboard-heading">GPU memory</h3>
          {memory.vram ? (
            <div className="vram">
              <span>
                {formatBytes(memory.vram.usedBytes)} used of {formatBytes(memory.vram.totalBytes)}
              </span>
              <meter
                className="meter"
                aria-label="GPU memory used"
                min={0}
                max={1}
                value={memory.vram.totalBytes > 0 ? memory.vram.usedBytes / memory.vram.totalBytes : 0}
              />
            </div>
          ) : (
            <p className="dashboard-note">CPU only: no GPU memory in use.</p>
          )}

          <h3 className="dashboard-heading">Chunk hits and loads</h3>
          <table className="dash-table">
            <thead>
              <tr>
                <th scope="col">Tier</th>
                <th scope="col">Hits</th>
                <th scope="col">Loaded</th>
              </tr>
            </thead>
            <tbody>
              {(['gpu', 'cpu', 'disk'] as const).map((tier) => (
                <tr key={tier} title={hitLabels[tier]}>
                  <th scope="row">{tierLabels[tier]}</th>
                  <td>{formatCount(memory.hits[tier])}</td>
                  <td>{tier === 'gpu' ? '—' : formatBytes(memory.loadedBytes[tier])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h3 className="dashboard-heading">Residency map</h3>
      {!conversation ? (
        <p className="panel-hint">Open a conversation to see where its documents live.</p>
      ) : residency ? (
        <ResidencyMap chunks={residency.chunks} documents={documents} />
      ) : (
        <p className="panel-hint">
          {residencyError
            ? `The residency map is unavailable: ${residencyError}`
            : 'The documents are read into the tiers with the first question.'}
        </p>
      )}
    </section>
  );
}
