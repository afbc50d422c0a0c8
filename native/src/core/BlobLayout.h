// The layout of a chunk blob, read without llama.cpp: the bytes llama_state_seq_get_data_ext() writes
// for one sequence of a unified KV cache (llama-context.cpp / llama-kv-cache.cpp state_write, v0.5.0):
//
//   u32 magic 0xaf143cd8, i32 seq_id, u32 n_stream (1 when unified), u32 cell_count,
//   cell_count × { i32 pos, u32 n_seq_id (= 1), [12-byte ext for M-RoPE / PLE models], i32 seq_id },
//   u32 v_trans, u32 n_layer,
//   n_layer × { i32 k_type, u64 k_row_bytes, cell_count × k_row_bytes },
//   then per layer with V:  v_trans == 0: { i32 v_type, u64 v_row_bytes, cell_count × v_row_bytes }
//                           v_trans == 1: { i32 v_type, u32 v_elem_bytes, u32 n_embd_v, n_embd_v × cell_count × v_elem_bytes }
//
// The blob holds the chunk's cells (positions and K/V) and nothing else. Checking it here turns a
// truncated or foreign blob into a clear error before llama.cpp sees it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strata {

struct BlobLayout {
  uint32_t cellCount = 0;
  int32_t posMin = 0;
  int32_t posMax = 0;
  /** V stored transposed: written by a context with flash attention off. */
  bool vTransposed = false;
  uint32_t layerCount = 0;
  /** ggml_type of K and V (of the first layer; describe() checks that all layers agree). */
  int32_t typeK = -1;
  int32_t typeV = -1;
  uint64_t kvBytes = 0;
  /** Bytes of each cell's entry in the cell list (12, or 24 with the M-RoPE/PLE extension). */
  uint32_t cellMetaBytes = 12;
};

/** Parses the blob; on failure returns false and sets `error` to a message for people. */
bool describeBlob(const uint8_t* data, size_t size, BlobLayout& out, std::string& error) noexcept;

/**
 * Writes to `out` the blob without its cells at positions below `below` (a placed library chunk whose
 * first tokens are recomputed): the cell list, every layer's K rows and V rows (or, transposed, V
 * columns) of the kept cells, in their order. No llama.cpp involved, so the cells left out never need
 * room in the context. Returns false with `error` set when the blob is unreadable or nothing is left.
 */
bool dropCellsBelow(const uint8_t* data, size_t size, int32_t below, std::vector<uint8_t>& out, std::string& error) noexcept;

}  // namespace strata
