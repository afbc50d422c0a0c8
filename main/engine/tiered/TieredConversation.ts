// One question with the tiered engine (docs/ARCHITECTURE.md, "The path of a question"):
//   1. the document prefix comes from the tiers (read once, then from CPU or disk);
//   2. probe: the question is evaluated on the current working set with its queries captured, then removed;
//   3. every chunk is scored from its abstract and the best ones that fit the GPU budget are picked,
//      always with the sink and the most recent chunk;
//   4. the picks are spliced in position order, the question is evaluated again, and the answer is
//      generated, re-selecting every N tokens with the latest queries;
//   5. the turn (question + answer) becomes chunks too, tiered like the document.
// When everything fits the budget there is no probe and no eviction: the answer is the full-context one.
import { randomUUID } from 'node:crypto';
import type { Token } from 'node-llama-cpp';
import type { AskMetrics, ChunkResidency, TieredAskMetrics } from '../engineTypes.ts';
import { ConversationBase } from '../ConversationBase.ts';
import type { AskOptions, AskResult, EngineTurn } from '../Engine.ts';
import { commonPrefixLength } from '../commonPrefixLength.ts';
import { RequestError, StrataError } from '../errors.ts';
import { abstractLength, computeAbstract, concatLayerAbstracts } from './abstracts/computeAbstract.ts';
import { scoreChunksFast, scoreShiftedChunksFast } from './abstracts/scoreChunksNative.ts';
import { rotateByPositions } from './positions/ropeRotation.ts';
import { recentWindow as recentChunks, selectChunks } from './abstracts/selectChunks.ts';
import type { AddonDecodeResult, AddonGreedyResult } from './native/NativeAddon.ts';
import { sampleToken } from './sampleToken.ts';
import { BlobCorruptError, blobEnd, type BlobRef } from './tiers/DiskTier.ts';
import { TextStream } from './TextStream.ts';
import { turnsDiskKey } from './turnsDiskKey.ts';
import type { DocumentPrefix, TieredModel } from './TieredModel.ts';
import type { SpliceSource, SpliceStats } from './TierManager.ts';

const DEFAULT_MAX_TOKENS_RAW = 256;
const DEFAULT_MAX_TOKENS_CHAT = 1024;

interface TurnChunk {
  /** Its row in kv_turns (chunk_index). */
  index: number;
  key: string;
  posStart: number;
  posEnd: number;
  tokens: number[];
  abstract: Float32Array;
  /** Where the turn's blob is in the disk tier (the CPU tier may have let it go). */
  ref: BlobRef;
}

/** A chunk the planner can pick: a document chunk or a turn chunk. */
interface Candidate {
  source: SpliceSource;
  index: number;
  tokenCount: number;
  documentChunkIndex: number | null;
}

export class TieredConversation extends ConversationBase {
  private readonly model: TieredModel;
  private turns: TurnChunk[] = [];
  /** The prefix the loaded turns follow; '' before the first ask loads them. */
  private turnsPrefixKey = '';
  /** The catalog's conversation id; turns are persisted under it (a random id keeps them for this run only). */
  private readonly id: string;
  private readonly persistent: boolean;
  /** The documents' prefix of the last answer and the chunks it read, for the residency map. */
  private lastPrefix: DocumentPrefix | null = null;
  /** The documents' prefix of the ask under way: prompts are rendered after it, not with the documents again. */
  private askPrefix: DocumentPrefix | null = null;
  private lastRead = new Set<number>();

  constructor(model: TieredModel, conversationId?: string) {
    super();
    this.model = model;
    this.id = conversationId ?? randomUUID();
    this.persistent = conversationId !== undefined;
  }

  protected answer(question: string, options: AskOptions): Promise<AskResult> {
    return this.model.run(() => this.askNow(question, options));
  }

  /**
   * A damaged blob on disk (checksum mismatch) drops that document's stored KV; when nothing of the
   * answer has streamed yet the document is read again at once, else the error says it will be.
   */
  private async askNow(question: string, options: AskOptions): Promise<AskResult> {
    let streamed = false;
    const tracked: AskOptions = { ...options, onTextChunk: (text) => ((streamed = true), options.onTextChunk?.(text)) };
    try {
      return await this.askOnce(question, tracked);
    } catch (error) {
      if (!(error instanceof BlobCorruptError)) throw error;
      if (error.documentKey === turnsDiskKey(this.id)) await this.dropTurns(0);
      else await this.model.discardIngest(error.documentKey);
      if (streamed) {
        throw new StrataError('BLOB_CORRUPT', `${error.message} The stored KV of this document was dropped; ask again and it will be read anew.`, { cause: error });
      }
      return this.askOnce(question, tracked);
    }
  }

  private async askOnce(question: string, options: AskOptions): Promise<AskResult> {
    const startedAt = performance.now();
    const { model } = this;
    const { tiers } = model;
    const { vocab, scoringLayers, selectionMode, settings } = model;
    const budget = tiers.budgetTokens;

    await tiers.dropLoose();
    const { prefix, evaluatedTokens: documentTokensEvaluated, ingest, composedTokens } = await model.documentPrefix(this.documents, options);
    const ingestMs = performance.now() - startedAt;
    this.askPrefix = prefix;
    const full = await model.renderPrompt(this.documents, prefix, this.history, question, this.instructions);
    const prefixLength = prefix?.tokens.length ?? 0;
    if (prefix && !startsWith(full, prefix.tokens)) {
      throw new RequestError('PROMPT_LAYOUT', 'The prompt no longer starts with the documents it was read with; ask again.');
    }

    // Past the model's trained context the chosen chunks move to compact positions for this answer
    // (positions/ in docs/ARCHITECTURE.md). Turns are then evaluated with the question each time:
    // their cells sit at positions that hold for one answer only, so they are not stored.
    const chat = model.info.hasChatTemplate;
    const requestedMax = options.maxTokens ?? (chat ? DEFAULT_MAX_TOKENS_CHAT : DEFAULT_MAX_TOKENS_RAW);
    const compact = model.compactPositions && full.length + requestedMax > model.info.trainContextTokens;
    const prefixKey = compact ? 'compact' : (prefix?.ingestId ?? 'none');
    // Stored turns stay valid while the documents' prefix and the rendered turns match; after a
    // restart they come back from the catalog instead of being read again (not in compact mode,
    // which neither loads nor deletes them).
    if (prefixKey !== this.turnsPrefixKey) {
      await this.unloadTurns();
      this.turnsPrefixKey = prefixKey;
      if (!compact) await this.loadStoredTurns(prefixKey);
    }
    // Where the earlier turns end and the question begins: stored turns can only stand for the former
    // (a regenerated or repeated question is evaluated again).
    const historyEnd = this.history.length === 0 || compact ? prefixLength : commonPrefixLength(full, await this.prefixWithTurns(this.history));
    let matched = 0;
    let newStart = prefixLength;
    while (matched < this.turns.length) {
      const turn = this.turns[matched];
      if (turn.posStart !== newStart || turn.posEnd > historyEnd || !matchesAt(full, turn.tokens, turn.posStart)) break;
      newStart = turn.posEnd;
      matched++;
    }
    await this.dropTurns(matched);
    // Earlier turns not stored yet (another model read them, or the end of the last turn) are read
    // block-wise under the budget and stored, so only the question itself is new.
    if (historyEnd > newStart) newStart = await this.catchUpTurns(full, newStart, historyEnd, prefix);
    const newTokens = full.slice(newStart);

    let maxTokens = requestedMax;
    const roomForAnswer = Math.floor(budget / 2) - newTokens.length;
    if (roomForAnswer < 1) {
      const what = compact ? 'The question and the conversation before it (documents longer than the model are answered with the conversation read again each time)' : 'The question and the turns not yet stored';
      throw new RequestError('QUESTION_TOO_LONG', `${what} take ${newTokens.length} tokens; the GPU budget of ${budget} tokens allows at most ${Math.floor(budget / 2) - 1}. Shorten the question, start a new conversation or raise the GPU budget.`);
    }
    maxTokens = Math.min(maxTokens, roomForAnswer);

    const candidates = this.candidates(prefix);
    const pinned = [candidates[0], candidates.at(-1)].filter((c): c is Candidate => c !== undefined);
    const chunkBudget = budget - newTokens.length - maxTokens;
    const allTokens = candidates.reduce((sum, c) => sum + c.tokenCount, 0);

    let probeMs = 0;
    let selectMs = 0;
    let selected: Candidate[];
    if (allTokens <= chunkBudget) {
      selected = candidates;
    } else {
      const probeStarted = performance.now();
      // The chunks the last question on these documents chose are read from disk while this one is
      // probed: follow-up questions mostly need the same parts, and the probe leaves the disk idle.
      const guess = new Set(prefix ? model.lastSelection(prefix) : []);
      tiers.prefetch(candidates.filter((c) => c.documentChunkIndex !== null && guess.has(c.documentChunkIndex)).map((c) => c.source));
      await this.prepareProbe(candidates, pinned, newTokens.length, compact);
      const probeAt = tiers.nextPosition;
      // Only the scoring layers' queries are wanted and the cells are dropped: the layers after the last
      // scoring layer are not computed.
      const probe = await tiers.decode(newTokens, 'none', { layers: scoringLayers, queries: true, stopAfterLastLayer: true });
      await tiers.dropLoose();
      probeMs = performance.now() - probeStarted;
      const selectStarted = performance.now();
      selected = await this.select(candidates, pinned, chunkBudget, probe, newTokens.length, selectionMode, prefix, compact ? probeAt : null);
      selectMs = performance.now() - selectStarted;
    }
    tiers.resetPositionStats();
    const splice = compact ? await tiers.makeResidentCompact(selected.map((c) => c.source)) : await tiers.makeResident(selected.map((c) => c.source));
    model.countSplices(splice.kept, splice);
    const selectedChunkIndices = new Set(selected.flatMap((c) => (c.documentChunkIndex === null ? [] : [c.documentChunkIndex])));
    if (prefix && allTokens > chunkBudget) model.rememberSelection(prefix, [...selectedChunkIndices]);
    this.lastPrefix = prefix;
    this.lastRead = selectedChunkIndices;
    options.onResidencyChange?.();

    // Evaluate the question and generate, keeping each decode's keys for the turn's abstract.
    // Only the keys (for the turn's abstract) are kept per token; logits and queries go with each step.
    const keysByToken: AddonDecodeResult[] = [];
    const stream = new TextStream(vocab);
    let text = '';
    const generated: Token[] = [];
    const prefillStarted = performance.now();
    // Greedy answers take llama.cpp's argmax instead of a copy of the logits row (O(1) per token in JS).
    const greedy = (options.temperature ?? 0) <= 0 && !options.onLogits;
    const logitsMode = greedy ? 'argmax' : 'last';
    let result = await tiers.decode(newTokens, logitsMode, { layers: scoringLayers, keys: true });
    keysByToken.push(keysOnly(result));
    const firstTokenAt = performance.now();
    let stopReason: AskResult['stopReason'] = 'maxTokens';
    let reselections = 0;
    const vocabSize = model.nativeInfo.vocabSize;
    // Re-selection splices chunks under the answer's cells, which compact positions have no room for.
    const reselectEvery = !compact && settings.reselectEveryTokens > 0 && allTokens > chunkBudget ? settings.reselectEveryTokens : 0;
    // Greedy tokens come in runs decoded inside llama.cpp's thread (GreedyRuns): those after the first
    // of a run are already decoded when they are streamed.
    const runs = new GreedyRuns();
    let decodedAhead: number[] = [];
    for (;;) {
      const token = decodedAhead.length > 0 ? (decodedAhead.shift()! as Token) : this.nextToken(result, greedy, vocabSize, options);
      generated.push(token);
      if (vocab.isEogToken(token)) {
        stopReason = 'eos';
        break;
      }
      const chunk = stream.push(token);
      if (chunk !== '') {
        text += chunk;
        options.onTextChunk?.(chunk);
      }
      if (generated.length >= maxTokens) break;
      if (decodedAhead.length > 0) continue;
      if (options.signal?.aborted) {
        stopReason = 'abort';
        break;
      }
      const reselect = reselectEvery > 0 && generated.length % reselectEvery === 0;
      if (greedy && !reselect) {
        const untilReselect = reselectEvery > 0 ? reselectEvery - (generated.length % reselectEvery) : Infinity;
        const steps = Math.min(runs.nextSteps(), maxTokens - generated.length, untilReselect);
        const run = await tiers.decodeGreedy(token, steps, { layers: scoringLayers, keys: true });
        runs.record(run);
        keysByToken.push(keysOnly(run));
        decodedAhead = Array.from(run.tokens);
        continue;
      }
      result = await tiers.decode([token], logitsMode, { layers: scoringLayers, keys: true, queries: reselect });
      keysByToken.push(keysOnly(result));
      if (reselect) {
        const answerRoom = newTokens.length + maxTokens;
        const picks = await this.select(candidates, pinned, budget - answerRoom, result, 1, selectionMode, prefix);
        const stats = await tiers.makeResident(picks.map((c) => c.source));
        addStats(splice, stats);
        model.countSplices(stats.kept, stats);
        for (const c of picks) if (c.documentChunkIndex !== null) selectedChunkIndices.add(c.documentChunkIndex);
        options.onResidencyChange?.();
        reselections++;
      }
    }
    // A character cut in half at the very end is still part of the answer.
    const rest = stream.text.slice(text.length);
    if (rest !== '') {
      text += rest;
      options.onTextChunk?.(rest);
    }
    const endedAt = performance.now();
    const positions = tiers.positionStats();
    if (compact) await tiers.dropLoose();
    else await this.storeTurn(newStart, [...full.slice(newStart), ...generated.slice(0, -1)], keysByToken, question, text);

    const decodeMs = endedAt - firstTokenAt;
    const kvBytesPerToken = model.kvBytesPerToken();
    const storedTokens = prefix?.chunks.reduce((sum, c) => sum + (c.posEnd - c.posStart), 0) ?? 0;
    const storedBytes = prefix?.chunks.reduce((sum, c) => sum + c.ref.length, 0) ?? 0;
    const tiered: TieredAskMetrics = {
      probeMs,
      selectMs,
      spliceMs: splice.spliceMs,
      loadHiddenMs: Math.max(0, splice.loadMs - splice.loadWaitMs),
      prefetchedChunks: splice.prefetched,
      bytesFromCpu: splice.bytesFromCpu,
      bytesFromDisk: splice.bytesFromDisk,
      chunksTotal: candidates.length,
      chunksSelected: selected.length,
      selectedChunkIndices: [...selectedChunkIndices].sort((a, b) => a - b),
      reselections,
      gpuBudgetTokens: budget,
      kvCacheType: settings.kvCacheType,
      blobBytesPerToken: storedTokens > 0 ? storedBytes / storedTokens : 0,
      gpuTierTokensPerGiB: Math.floor(2 ** 30 / kvBytesPerToken),
      peakGpuResidentTokens: tiers.peakResidentTokens,
      residentBytes: { gpu: Math.round(tiers.residentTokens * kvBytesPerToken), ...model.lowerTierBytes() },
      documentTokensEvaluated,
      ingestMs,
      ingest,
      compactPositions: compact,
      kvReuse: prefix?.composed ? 'library' : 'exact',
      composedTokensEvaluated: composedTokens,
      recomputedTokens: prefix?.recomputedTokens ?? 0,
    };
    const metrics: AskMetrics = {
      engine: 'tiered',
      promptTokens: full.length,
      evaluatedPromptTokens: newTokens.length + documentTokensEvaluated + composedTokens,
      generatedTokens: generated.length,
      // The question's own evaluation; reading documents in, probing and splicing are in `tiered`.
      prefillMs: firstTokenAt - prefillStarted,
      timeToFirstTokenMs: firstTokenAt - startedAt,
      decodeTokensPerSecond: generated.length > 1 && decodeMs > 0 ? ((generated.length - 1) * 1000) / decodeMs : 0,
      totalMs: endedAt - startedAt,
      contextTokens: budget,
      maxPositionUsed: positions.highest,
      maxAttentionDistance: positions.highest - positions.lowest,
      tiered,
    };
    return { text, stopReason, metrics };
  }

  private nextToken(result: AddonDecodeResult, greedy: boolean, vocabSize: number, options: AskOptions): Token {
    if (greedy) {
      if (result.argmax === null) throw new RequestError('INTERNAL', 'The native engine returned no argmax.');
      return result.argmax as Token;
    }
    if (!result.logits) throw new RequestError('INTERNAL', 'The native engine returned no logits.');
    options.onLogits?.(result.logits);
    return sampleToken(result.logits, vocabSize, options.temperature ?? 0) as Token;
  }

  /** Document chunks then turn chunks, in position order. */
  private candidates(prefix: DocumentPrefix | null): Candidate[] {
    const list: Candidate[] = [];
    for (const chunk of prefix?.chunks ?? []) {
      list.push({ source: this.model.documentSource(prefix!, chunk), index: list.length, tokenCount: chunk.posEnd - chunk.posStart, documentChunkIndex: chunk.index });
    }
    for (const turn of this.turns) {
      list.push({ source: this.turnSource(turn), index: list.length, tokenCount: turn.posEnd - turn.posStart, documentChunkIndex: null });
    }
    return list;
  }

  /** The probe runs on what is resident when that still ends with the most recent chunk; else on the pinned chunks. */
  private async prepareProbe(candidates: Candidate[], pinned: Candidate[], questionTokens: number, compact: boolean): Promise<void> {
    const { tiers } = this.model;
    const known = new Map(candidates.map((c) => [c.source.key, c]));
    const resident = tiers.residentKeys();
    const recent = pinned.at(-1);
    const usable =
      recent !== undefined &&
      resident.at(-1) === recent.source.key &&
      resident.every((key) => known.has(key)) &&
      pinned.every((p) => tiers.isResident(p.source.key)) &&
      tiers.residentTokens + questionTokens <= tiers.budgetTokens;
    // Compact: the probe's question also sits within the trained context, after the packed chunks.
    if (compact && !(usable && tiers.compacted)) await tiers.makeResidentCompact(pinned.map((c) => c.source));
    else if (!compact && !usable) await tiers.makeResident(pinned.map((c) => c.source));
  }

  private async select(
    candidates: Candidate[],
    pinned: Candidate[],
    budgetTokens: number,
    probe: AddonDecodeResult,
    queryTokens: number,
    mode: 'scores' | 'recent',
    prefix: DocumentPrefix | null,
    compactProbeAt: number | null = null,
  ): Promise<Candidate[]> {
    if (mode === 'recent') return recentWindow(candidates, pinned, budgetTokens);
    const scores = await this.score(candidates, probe, queryTokens, prefix, this.scoringShifts(candidates, pinned, prefix, compactProbeAt));
    const ids = selectChunks({
      chunks: candidates.map((c, i) => ({ id: c.index, tokenCount: c.tokenCount, score: scores[i], position: c.source.posStart })),
      budgetTokens,
      pinnedIds: pinned.map((c) => c.index),
    });
    return ids.map((id) => candidates[id]);
  }

  private score(candidates: Candidate[], probe: AddonDecodeResult, queryTokens: number, prefix: DocumentPrefix | null, shifts: Int32Array | null): Promise<Float64Array> {
    const layers = this.model.scoringLayers;
    const captures = layers.map((layer) => probe.captures?.find((c) => c.layer === layer));
    const first = captures[0];
    if (!first?.queries || captures.some((c) => !c?.queries)) throw new RequestError('INTERNAL', 'The probe captured no queries.');
    const input = {
      queries: captures.map((c) => c!.queries!),
      nQueryTokens: queryTokens,
      nHeads: first.headCount,
      nKvHeads: first.kvHeadCount,
      headDim: first.headDim,
      abstracts: this.packedAbstracts(prefix, abstractLength(first.kvHeadCount, first.headDim) * layers.length, candidates.length),
    };
    const rope = this.model.ropeSpec;
    if (shifts === null || rope === null) return scoreChunksFast(input);
    // Runs of chunks sharing a shift (library documents) are bounded in the addon; compact positions,
    // which shift every chunk apart, in TypeScript.
    return scoreShiftedChunksFast(input, shifts, (queries, delta) => rotateByPositions(queries, first.headDim, rope, delta));
  }

  /**
   * How far each chunk sits from where its abstract was computed: a library chunk's placement in this
   * prompt, plus the compact move; null when every chunk is where it was read.
   */
  private scoringShifts(candidates: Candidate[], pinned: Candidate[], prefix: DocumentPrefix | null, compactProbeAt: number | null): Int32Array | null {
    const compact = compactProbeAt === null ? null : this.compactShifts(candidates, pinned, compactProbeAt);
    const composed = prefix?.composed;
    if (!composed) return compact;
    const shifts = compact ?? new Int32Array(candidates.length);
    candidates.forEach((c, i) => {
      const placed = c.documentChunkIndex === null ? undefined : composed[c.documentChunkIndex];
      if (placed?.kind === 'document') shifts[i] += placed.shift;
    });
    return shifts.some((v) => v !== 0) ? shifts : null;
  }

  /**
   * Where each chunk is scored in compact mode, as a shift from its stored positions: just before
   * the most recent chunk, the way the packing brings every chosen chunk within a budget of the
   * question. The probe ran at `probeAt`, after the packed pinned chunks.
   */
  private compactShifts(candidates: Candidate[], pinned: Candidate[], probeAt: number): Int32Array {
    const recentTokens = pinned.at(-1)?.tokenCount ?? 0;
    return Int32Array.from(candidates, (c) => probeAt - recentTokens - c.tokenCount - c.source.posStart);
  }

  /**
   * The document's packed abstracts followed by the turns'. Packing copies every abstract, so it is
   * done once per set of chunks (not at every re-selection), and not at all while there are no turns.
   */
  private packedAbstracts(prefix: DocumentPrefix | null, perChunk: number, chunkCount: number): Float32Array {
    if (this.turns.length === 0 && prefix) return prefix.packedAbstracts;
    const cached = this.packed;
    // storeCells, dropTurns, unloadTurns and loadStoredTurns reset the cache whenever the turns change
    // (turn keys are reused after a drop); the prefix, the last key and the size guard the rest.
    const lastTurn = this.turns.at(-1)?.key;
    if (cached && cached.prefix === prefix && cached.lastTurn === lastTurn && cached.array.length === perChunk * chunkCount) return cached.array;
    const array = new Float32Array(perChunk * chunkCount);
    if (prefix) array.set(prefix.packedAbstracts, 0);
    this.turns.forEach((turn, i) => array.set(turn.abstract, ((prefix?.chunks.length ?? 0) + i) * perChunk));
    this.packed = { prefix, lastTurn, array };
    return array;
  }

  private packed: { prefix: DocumentPrefix | null; lastTurn: string | undefined; array: Float32Array } | null = null;

  private turnSource(turn: TurnChunk): SpliceSource {
    return this.model.turnStore.source(this.id, turn);
  }

  /**
   * The turn's cells become chunks (at most chunkMaxTokens each) in the CPU and disk tiers, persisted in
   * the catalog. Only the cells the next prompt will start with are kept: the conversation is rendered
   * again with this turn in it, and the cells stop where that rendering departs from what was
   * evaluated (a template's end-of-turn tokens, a re-tokenized answer); the rest is read at the next ask.
   */
  private async storeTurn(posStart: number, tokens: number[], decodes: AddonDecodeResult[], question: string, answer: string): Promise<void> {
    const { tiers } = this.model;
    const end = posStart + tokens.length;
    if (tokens.length === 0 || tiers.nextPosition !== end) {
      await tiers.dropLoose();
      return;
    }
    const next = await this.prefixWithTurns([...this.history, { role: 'user', text: question }, { role: 'assistant', text: answer }]);
    let keep = 0;
    while (keep < tokens.length && next[posStart + keep] === tokens[keep]) keep++;
    const keys = concatKeys(decodes, this.model.scoringLayers, tokens.length);
    await this.storeCells(posStart, tokens.slice(0, keep), (start, stop) => keys.map((k) => computeAbstract(k, start - posStart, stop - posStart)));
    await tiers.dropLoose();
  }

  /** Captures the loose cells [posStart, posStart + tokens.length) as turn chunks, on disk before their rows. */
  private async storeCells(posStart: number, tokens: number[], abstractOf: (start: number, stop: number) => Float32Array[]): Promise<void> {
    const { tiers, turnStore } = this.model;
    const chunkMax = this.model.settings.chunkMaxTokens;
    const end = posStart + tokens.length;
    for (let start = posStart; start < end; start += chunkMax) {
      const stop = Math.min(end, start + chunkMax);
      const index = (this.turns.at(-1)?.index ?? -1) + 1;
      const key = this.turnKey(index);
      const blob = await tiers.captureLoose(key, start, stop);
      const abstract = concatLayerAbstracts(abstractOf(start, stop));
      const ref = await turnStore.putBlob(this.id, key, blob);
      const turn: TurnChunk = { index, key, posStart: start, posEnd: stop, tokens: tokens.slice(start - posStart, stop - posStart), abstract, ref };
      if (this.persistent) turnStore.addRow(this.id, { ...turn, prefixKey: this.turnsPrefixKey });
      this.turns.push(turn);
      this.packed = null;
    }
  }

  /**
   * Reads earlier turns [from, to) of `full` block by block, each block on a working set of the sink
   * and the most recent chunks, and stores them as turn chunks. Returns `to`.
   */
  private async catchUpTurns(full: readonly number[], from: number, to: number, prefix: DocumentPrefix | null): Promise<number> {
    const { tiers, scoringLayers } = this.model;
    const block = this.model.settings.chunkMaxTokens;
    for (let start = from; start < to; start += block) {
      const stop = Math.min(to, start + block);
      await tiers.dropLoose();
      const candidates = this.candidates(prefix);
      if (tiers.residentTokens + (stop - start) > tiers.budgetTokens || !candidates.every((c, i) => i < candidates.length - 1 || tiers.isResident(c.source.key))) {
        await tiers.makeResident(recentWindow(candidates, [candidates[0], candidates.at(-1)].filter((c): c is Candidate => c !== undefined), tiers.budgetTokens - (stop - start)).map((c) => c.source));
      }
      const result = await tiers.decode(full.slice(start, stop), 'none', { layers: scoringLayers, keys: true });
      const keys = concatKeys([keysOnly(result)], scoringLayers, stop - start);
      await this.storeCells(start, full.slice(start, stop), (a, b) => keys.map((k) => computeAbstract(k, a - start, b - start)));
    }
    return to;
  }

  /**
   * The prompt every next question starts with, for these documents and turns. Two renderings of the
   * whole prompt each: the last one is kept, since storing a turn asks for exactly what the next
   * question's history needs.
   */
  private async prefixWithTurns(turns: readonly EngineTurn[]): Promise<number[]> {
    const key = JSON.stringify([this.documents.map((doc) => [doc.id, doc.text.length]), turns, this.instructions]);
    if (this.lastRendered?.key === key) return this.lastRendered.tokens;
    const tokens = await this.model.renderPrefixWithTurns(this.documents, this.askPrefix, turns, this.instructions);
    this.lastRendered = { key, tokens };
    return tokens;
  }

  private lastRendered: { key: string; tokens: number[] } | null = null;

  private turnKey(index: number): string {
    return `turn:${this.id}:${index}`;
  }

  /** After a restart (or a change back to these documents): the turns stored for this prefix. */
  private async loadStoredTurns(prefixKey: string): Promise<void> {
    if (!this.persistent) return;
    const rows = this.model.turnStore.rows(this.id);
    if (rows.some((row) => row.prefixKey !== prefixKey)) {
      await this.forgetStoredTurns();
      return;
    }
    this.turns = rows.map((row) => ({ index: row.index, key: this.turnKey(row.index), posStart: row.posStart, posEnd: row.posEnd, tokens: row.tokens, abstract: row.abstract, ref: row.ref }));
    this.packed = null;
  }

  /** Takes the turns off the GPU and out of the CPU tier; their rows and blobs stay for later. */
  private async unloadTurns(): Promise<void> {
    for (const turn of this.turns) {
      await this.model.tiers.evict(turn.key);
      this.model.turnStore.uncache(turn.key);
    }
    this.turns = [];
    this.packed = null;
  }

  private async forgetStoredTurns(): Promise<void> {
    await this.unloadTurns();
    await this.model.turnStore.dropAll(this.id, this.persistent);
  }

  /** Forgets turn chunks from `from` on (they no longer match the rendered conversation): rows, blobs, cells. */
  private async dropTurns(from: number): Promise<void> {
    if (from >= this.turns.length) return;
    if (from === 0) {
      await this.forgetStoredTurns();
      return;
    }
    const dropped = this.turns.slice(from);
    for (const turn of dropped) {
      await this.model.tiers.evict(turn.key);
      this.model.turnStore.uncache(turn.key);
    }
    this.turns = this.turns.slice(0, from);
    this.packed = null;
    await this.model.turnStore.dropFrom(this.id, dropped[0].index, blobEnd(this.turns[from - 1].ref), this.persistent);
  }

  /** Where each document chunk of the last answer's prefix lives now, and whether that answer read it. */
  residency(): ChunkResidency[] | null {
    const prefix = this.lastPrefix;
    if (!prefix) return null;
    return prefix.chunks.map((chunk, i) => ({
      index: chunk.index,
      documentId: prefix.places[i].documentId,
      charStart: prefix.places[i].charStart,
      charEnd: prefix.places[i].charEnd,
      tokenCount: chunk.posEnd - chunk.posStart,
      tier: this.model.tierOf(prefix, chunk),
      read: this.lastRead.has(chunk.index),
    }));
  }

  /** Closing the conversation (or the model) keeps its stored turns; only its GPU and CPU copies go. */
  protected override async release(): Promise<void> {
    await this.model.run(() => (this.persistent ? this.unloadTurns() : this.forgetStoredTurns())).catch(() => undefined);
  }
}

/** The pinned candidates and the contiguous most recent ones that fit (candidates are in position order). */
function recentWindow(candidates: Candidate[], pinned: Candidate[], budgetTokens: number): Candidate[] {
  return recentChunks(candidates, pinned, budgetTokens, (c) => c.tokenCount);
}

/**
 * How many greedy tokens the next run decodes in C++ before returning: as many as take about a frame
 * (16 ms), so streaming still looks token by token and Stop answers within a frame, while a small model
 * stops paying a return to JavaScript (~0.1 ms) per token. The first run is one token, to time a step.
 */
export class GreedyRuns {
  static readonly FRAME_MS = 16;
  static readonly MAX_STEPS = 64;
  private msPerStep: number | null = null;

  nextSteps(): number {
    if (this.msPerStep === null) return 1;
    return Math.max(1, Math.min(GreedyRuns.MAX_STEPS, Math.floor(GreedyRuns.FRAME_MS / Math.max(this.msPerStep, 1e-3))));
  }

  record(run: AddonGreedyResult): void {
    if (run.tokens.length > 0) this.msPerStep = run.elapsedMs / run.tokens.length;
  }
}

/** A decode's (or a greedy run's) keys without its logits or queries: what a turn's abstract needs. */
function keysOnly(result: Pick<AddonDecodeResult, 'captures' | 'elapsedMs'>): AddonDecodeResult {
  return { logits: null, logitRows: 0, argmax: null, elapsedMs: result.elapsedMs, captures: result.captures?.map((c) => ({ ...c, queries: null })) ?? null };
}

function startsWith(tokens: readonly number[], prefix: readonly number[]): boolean {
  return matchesAt(tokens, prefix, 0);
}

function matchesAt(tokens: readonly number[], part: readonly number[], at: number): boolean {
  if (at + part.length > tokens.length) return false;
  for (let i = 0; i < part.length; i++) if (tokens[at + i] !== part[i]) return false;
  return true;
}

function addStats(into: SpliceStats, more: SpliceStats): void {
  into.spliceMs += more.spliceMs;
  into.bytesFromCpu += more.bytesFromCpu;
  into.bytesFromDisk += more.bytesFromDisk;
  into.splicedFromCpu += more.splicedFromCpu;
  into.splicedFromDisk += more.splicedFromDisk;
  into.spliced += more.spliced;
  into.kept += more.kept;
  into.evicted += more.evicted;
  into.loadMs += more.loadMs;
  into.loadWaitMs += more.loadWaitMs;
  into.prefetched += more.prefetched;
}

/** Keys of consecutive decodes joined per scoring layer, [token][kvHead][dim]. */
function concatKeys(decodes: AddonDecodeResult[], layers: readonly number[], nTokens: number) {
  return layers.map((layer) => {
    const parts = decodes.map((d) => d.captures?.find((c) => c.layer === layer));
    const first = parts[0];
    if (!first?.keys) throw new RequestError('INTERNAL', `No keys were captured at layer ${layer}.`);
    const keys = new Float32Array(nTokens * first.kvHeadCount * first.headDim);
    let at = 0;
    for (const part of parts) {
      if (!part?.keys) continue;
      const take = Math.min(part.keys.length, keys.length - at);
      keys.set(part.keys.subarray(0, take), at);
      at += take;
    }
    return { keys, nTokens, nKvHeads: first.kvHeadCount, headDim: first.headDim };
  });
}
