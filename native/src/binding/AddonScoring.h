// Module function `scoreChunks(queries, nQueryTokens, nHeads, nKvHeads, headDim, abstracts, firstChunk,
// chunkCount, threads) → Promise<Float64Array>`: core/ScoreChunks on the libuv pool. Needs no
// initialize(): it does not touch llama.cpp.
#pragma once

#include <napi.h>

namespace strata::binding {

Napi::Value scoreChunks(const Napi::CallbackInfo& info);

}  // namespace strata::binding
