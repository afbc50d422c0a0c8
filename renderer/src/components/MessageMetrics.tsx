import type { AskMetrics } from '../../../preload/api.ts';
import { formatCount } from '../format/formatCount.ts';
import { formatMs } from '../format/formatMs.ts';

export function MessageMetrics({ metrics }: { metrics: AskMetrics }) {
  const reused = metrics.promptTokens - metrics.evaluatedPromptTokens;
  return (
    <dl className="metrics" aria-label="Answer metrics">
      <div>
        <dt>first token</dt>
        <dd>{formatMs(metrics.timeToFirstTokenMs)}</dd>
      </div>
      <div>
        <dt>speed</dt>
        <dd>{metrics.decodeTokensPerSecond.toFixed(1)} tok/s</dd>
      </div>
      <div>
        <dt>prompt</dt>
        <dd>
          {formatCount(metrics.promptTokens)} tokens
          {reused > 0 && <span className="metrics-note"> ({formatCount(reused)} reused)</span>}
        </dd>
      </div>
      <div>
        <dt>engine</dt>
        <dd>{metrics.engine}</dd>
      </div>
      {metrics.tiered?.compactPositions && metrics.maxAttentionDistance !== undefined && (
        <div title="The documents are longer than the model's trained context: the chunks read for this answer were moved next to each other, so no token looked farther back than this.">
          <dt>farthest look-back</dt>
          <dd>{formatCount(metrics.maxAttentionDistance)} tokens (compact positions)</dd>
        </div>
      )}
    </dl>
  );
}
