import type { MemorySnapshot, TierName } from '../../../preload/api.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { formatCount } from '../format/formatCount.ts';

export const tierLabels: Record<TierName, string> = { gpu: 'GPU', cpu: 'CPU', disk: 'Disk' };

/** Bytes of KV resident in each tier, against each tier's budget. */
export function TierUsage({ memory }: { memory: MemorySnapshot }) {
  return (
    <dl className="tier-usage">
      {(['gpu', 'cpu', 'disk'] as const).map((tier) => {
        const { bytes, budgetBytes } = memory.tiers[tier];
        const fraction = budgetBytes ? Math.min(1, bytes / budgetBytes) : null;
        return (
          <div key={tier} className="tier-row" data-tier={tier}>
            <dt className="tier-name">
              <span className={`tier-swatch tier-${tier}`} aria-hidden="true" />
              {tierLabels[tier]}
            </dt>
            <dd className="tier-value">
              <span className="tier-numbers">
                {formatBytes(bytes)}
                <span className="tier-budget"> / {budgetBytes === null ? 'no budget' : formatBytes(budgetBytes)}</span>
              </span>
              {tier === 'gpu' && (
                <span className="tier-tokens">
                  {formatCount(memory.gpuResidentTokens)} / {formatCount(memory.gpuBudgetTokens)} tokens
                </span>
              )}
              <meter
                className={`meter tier-${tier}`}
                aria-label={`${tierLabels[tier]} tier use`}
                min={0}
                max={1}
                value={fraction ?? 0}
              />
            </dd>
          </div>
        );
      })}
    </dl>
  );
}
