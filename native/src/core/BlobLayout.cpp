#include "core/BlobLayout.h"

#include <cstring>
#include <limits>

namespace strata {
namespace {

constexpr uint32_t kStateMagic = 0xaf143cd8;
constexpr size_t kCellExtBytes = 12;  // llama_kv_cell_ext { x, y, tok }
constexpr uint32_t kMaxCells = 1u << 26;

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  bool read(T& value) {
    if (size_ - offset_ < sizeof(T)) return false;
    std::memcpy(&value, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool skip(uint64_t bytes) {
    if (bytes > size_ - offset_) return false;
    offset_ += static_cast<size_t>(bytes);
    return true;
  }
  size_t remaining() const { return size_ - offset_; }
  size_t offset() const { return offset_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

bool mulOverflows(uint64_t a, uint64_t b) { return a != 0 && b > std::numeric_limits<uint64_t>::max() / a; }

/** Parses everything after the cell count, given the byte size of each cell's metadata. */
bool parseBody(Reader reader, uint32_t cellCount, size_t cellMetaBytes, BlobLayout& out, std::string& error) {
  int32_t posMin = std::numeric_limits<int32_t>::max();
  int32_t posMax = -1;
  for (uint32_t i = 0; i < cellCount; ++i) {
    int32_t pos;
    uint32_t nSeqId;
    if (!reader.read(pos) || !reader.read(nSeqId)) { error = "truncated in the cell list"; return false; }
    if (nSeqId != 1) { error = "a cell belongs to " + std::to_string(nSeqId) + " sequences (a chunk blob has exactly 1)"; return false; }
    if (pos < 0) { error = "a cell has negative position " + std::to_string(pos); return false; }
    if (!reader.skip(cellMetaBytes - 8)) { error = "truncated in the cell list"; return false; }
    if (pos < posMin) posMin = pos;
    if (pos > posMax) posMax = pos;
  }
  uint32_t vTrans, layerCount;
  if (!reader.read(vTrans) || !reader.read(layerCount)) { error = "truncated before the layer data"; return false; }
  if (vTrans > 1) { error = "bad V layout flag " + std::to_string(vTrans); return false; }
  if (layerCount == 0 || layerCount > 4096) { error = "implausible layer count " + std::to_string(layerCount); return false; }

  uint64_t kvBytes = 0;
  int32_t typeK = -1, typeV = -1;
  for (uint32_t layer = 0; layer < layerCount; ++layer) {
    int32_t type;
    uint64_t rowBytes;
    if (!reader.read(type) || !reader.read(rowBytes)) { error = "truncated in the K data of layer " + std::to_string(layer); return false; }
    if (typeK == -1) typeK = type;
    if (type != typeK) { error = "K type differs between layers"; return false; }
    if (mulOverflows(rowBytes, cellCount) || !reader.skip(rowBytes * cellCount)) { error = "truncated in the K data of layer " + std::to_string(layer); return false; }
    kvBytes += rowBytes * cellCount;
  }
  uint32_t vLayers = 0;
  while (reader.remaining() > 0) {
    int32_t type;
    if (!reader.read(type)) { error = "truncated in the V data"; return false; }
    uint64_t bytes;
    if (vTrans == 0) {
      uint64_t rowBytes;
      if (!reader.read(rowBytes) || mulOverflows(rowBytes, cellCount)) { error = "truncated in the V data"; return false; }
      bytes = rowBytes * cellCount;
    } else {
      uint32_t elemBytes, embd;
      if (!reader.read(elemBytes) || !reader.read(embd)) { error = "truncated in the V data"; return false; }
      bytes = static_cast<uint64_t>(elemBytes) * embd;
      if (mulOverflows(bytes, cellCount)) { error = "implausible V size"; return false; }
      bytes *= cellCount;
    }
    if (!reader.skip(bytes)) { error = "truncated in the V data of layer " + std::to_string(vLayers); return false; }
    if (typeV == -1) typeV = type;
    if (type != typeV) { error = "V type differs between layers"; return false; }
    kvBytes += bytes;
    if (++vLayers > layerCount) { error = "more V layers than layers"; return false; }
  }

  out.cellCount = cellCount;
  out.posMin = posMin;
  out.posMax = posMax;
  out.vTransposed = vTrans == 1;
  out.layerCount = layerCount;
  out.typeK = typeK;
  out.typeV = typeV;
  out.kvBytes = kvBytes;
  out.cellMetaBytes = static_cast<uint32_t>(cellMetaBytes);
  return true;
}

}  // namespace

bool describeBlob(const uint8_t* data, size_t size, BlobLayout& out, std::string& error) noexcept {
  try {
    Reader reader(data, size);
    uint32_t magic, nStream, cellCount;
    int32_t seqId;
    if (!reader.read(magic) || magic != kStateMagic) { error = "not a llama.cpp sequence state (bad magic)"; return false; }
    if (!reader.read(seqId) || !reader.read(nStream)) { error = "truncated header"; return false; }
    if (nStream != 1) { error = "captured from a context with " + std::to_string(nStream) + " KV streams (the tiered engine always uses one unified stream)"; return false; }
    if (!reader.read(cellCount)) { error = "truncated header"; return false; }
    if (cellCount == 0) { error = "the blob holds no cells"; return false; }
    if (cellCount > kMaxCells) { error = "implausible cell count " + std::to_string(cellCount); return false; }
    // Most models keep 12 bytes per cell; M-RoPE and PLE models add a 12-byte extension. Only one of
    // the two readings lands exactly on the end of the blob.
    std::string plainError;
    if (parseBody(reader, cellCount, 12, out, plainError)) return true;
    std::string extError;
    if (parseBody(reader, cellCount, 12 + kCellExtBytes, out, extError)) return true;
    error = plainError;
    return false;
  } catch (...) {
    error = "unreadable blob";
    return false;
  }
}

bool dropCellsBelow(const uint8_t* data, size_t size, int32_t below, std::vector<uint8_t>& out, std::string& error) noexcept {
  try {
    BlobLayout layout;
    if (!describeBlob(data, size, layout, error)) return false;
    // describeBlob checked every size below: the copies stay inside the blob.
    constexpr size_t kHeader = 16;  // magic, seq_id, n_stream, cell_count
    const uint32_t n = layout.cellCount;
    const size_t meta = layout.cellMetaBytes;
    std::vector<uint32_t> kept;
    for (uint32_t i = 0; i < n; ++i) {
      int32_t pos;
      std::memcpy(&pos, data + kHeader + i * meta, sizeof pos);
      if (pos >= below) kept.push_back(i);
    }
    if (kept.empty()) { error = "no cell is left at or above position " + std::to_string(below); return false; }
    const uint32_t keptCount = static_cast<uint32_t>(kept.size());
    out.clear();
    out.reserve(size);
    auto append = [&out](const uint8_t* from, size_t bytes) { out.insert(out.end(), from, from + bytes); };
    append(data, 12);
    append(reinterpret_cast<const uint8_t*>(&keptCount), sizeof keptCount);
    for (uint32_t i : kept) append(data + kHeader + i * meta, meta);
    size_t at = kHeader + static_cast<size_t>(n) * meta;
    append(data + at, 8);  // v_trans, n_layer
    at += 8;
    // A layer stored one row per cell (every K layer; V unless transposed): { type, row bytes, rows }.
    auto copyKeptRows = [&]() {
      uint64_t rowBytes;
      std::memcpy(&rowBytes, data + at + 4, sizeof rowBytes);
      append(data + at, 12);
      at += 12;
      for (uint32_t i : kept) append(data + at + i * rowBytes, rowBytes);
      at += rowBytes * n;
    };
    for (uint32_t layer = 0; layer < layout.layerCount; ++layer) copyKeptRows();
    while (at < size) {
      if (!layout.vTransposed) {
        copyKeptRows();
      } else {
        uint32_t elemBytes, embd;
        std::memcpy(&elemBytes, data + at + 4, sizeof elemBytes);
        std::memcpy(&embd, data + at + 8, sizeof embd);
        append(data + at, 12);
        at += 12;
        for (uint32_t j = 0; j < embd; ++j) {
          const uint8_t* row = data + at + static_cast<size_t>(j) * n * elemBytes;
          for (uint32_t i : kept) append(row + static_cast<size_t>(i) * elemBytes, elemBytes);
        }
        at += static_cast<size_t>(embd) * n * elemBytes;
      }
    }
    return true;
  } catch (...) {
    error = "out of memory trimming the blob";
    return false;
  }
}

}  // namespace strata
