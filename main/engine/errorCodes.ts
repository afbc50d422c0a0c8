// Every error code Strata reports, with what it means to the person who sees it. The one list: the
// contract's ErrorCode (preload/api.ts re-exports it), StrataError's code, the table in
// docs/ARCHITECTURE.md (errorCodes.test.ts checks it lists each one) and the renderer's handling all
// come from here, so a new code cannot be thrown without being explained.
export const ERROR_CODES = {
  // Requests
  INVALID_ARGUMENT: 'A request was malformed (a missing or wrong field); a bug in the caller, not the user.',
  UNKNOWN_CHANNEL: 'A request named no method of the contract.',
  FORBIDDEN: 'A request came from a page that is not Strata’s own window.',
  DUPLICATE_REQUEST: 'A request id was reused while the first request with it still runs.',
  NOT_FOUND: 'The file, model, document, conversation or Hub repository named does not exist.',
  NOT_A_FILE: 'A folder was given where a file is needed.',
  NOT_ALLOWED: 'The action is refused by design (deleting a model outside Strata’s models folder).',
  DISPOSED: 'Strata is shutting down (or the object was closed) and takes no more work.',
  INTERNAL: 'Something failed that Strata did not expect; the message says what.',
  BAD_USAGE: 'A strata command was given wrong arguments; its --help says how to use it (exit code 2).',
  HOST_DISCONNECTED: 'The window lost its connection to strata serve during a request; it reconnects.',
  HOST_UNREACHABLE: 'The window cannot reach strata serve (is it still running?).',
  // The engine process
  ENGINE_STOPPED: 'The engine process died (killed, or llama.cpp aborted); it is restarted and the answer in progress ends with this error.',
  DATA_DIR_LOCKED: 'Another Strata (app, strata serve or strata ask) is using this data folder.',
  // Models
  NO_MODEL: 'No model is open; open one first.',
  MODEL_NOT_FOUND: 'The model file is not there any more.',
  INVALID_GGUF: 'The file is not a GGUF model, or is truncated or damaged.',
  MODEL_LOAD_FAILED: 'llama.cpp could not load the model (the message has its reason).',
  LOAD_FAILED: 'The tiered engine’s llama.cpp could not load the model.',
  OUT_OF_MEMORY: 'The model or its context does not fit in memory with these settings.',
  UNSUPPORTED_MODEL: 'llama.cpp does not support this model’s architecture.',
  TIERED_UNAVAILABLE: 'The tiered engine’s addon is not built or not loadable here; the standard engine serves instead.',
  LIBRARY_UNSUPPORTED: 'This model’s prompt cannot be composed from documents read alone (its template changes them, or its cache cannot move positions); documents are read per set.',
  TIERED_UNSUPPORTED: 'The tiered engine cannot split this model’s cache into chunks (sliding window, recurrent, MLA); the standard engine serves it.',
  VERSION_MISMATCH: 'The addon was built against another llama.cpp than node-llama-cpp’s; run npm run build:native.',
  BINS_NOT_FOUND: 'node-llama-cpp’s llama.cpp libraries were not found for this platform.',
  // Model downloads
  BAD_MODEL_URI: 'A model to download was not given as hf:OWNER/REPO/FILE.gguf.',
  BAD_MODEL_CATALOG: 'The STRATA_MODEL_CATALOG file is not a valid list of models.',
  HUB_UNREACHABLE: 'The Hugging Face Hub (or STRATA_HF_ENDPOINT) could not be reached or answered with an error.',
  DOWNLOAD_FAILED: 'A download stopped (connection lost or silent); what arrived is kept and the download resumes from there.',
  DOWNLOAD_STALLED: 'No data arrived for a while; the connection is asked again.',
  DOWNLOAD_CORRUPT: 'A downloaded file’s size or SHA-256 differs from the repository’s; it was removed.',
  // Documents
  UNSUPPORTED_TYPE: 'The file is not a kind of document Strata reads.',
  BINARY_FILE: 'The file is binary (an image, an archive, a model…), not text.',
  EMPTY_DOCUMENT: 'The file has no text (an empty file, a scanned PDF without a text layer).',
  PARSE_FAILED: 'The PDF or Word file could not be read (damaged or encrypted).',
  TOO_LARGE: 'The document is larger than Strata imports (512 MB).',
  IMPORT_FAILED: 'A document could not be imported (the message says why).',
  CANCELLED: 'The user cancelled the import, download or read.',
  // Questions and answers
  EMPTY_QUESTION: 'The question is empty.',
  ASK_IN_PROGRESS: 'This conversation is already answering; wait for it or stop it.',
  NOTHING_TO_REGENERATE: 'The conversation has no answer to regenerate.',
  QUESTION_TOO_LONG: 'The question (with the turns not yet stored) does not fit half the GPU budget.',
  PROMPT_LAYOUT: 'The prompt no longer starts with the documents it was read with; asking again fixes it.',
  TOKENIZER_CRASHED: 'The tokenizer worker stopped; the model must be opened again.',
  TOKENIZER_FAILED: 'The tokenizer worker could not tokenize or render a prompt (the message says why).',
  CONTEXT_TOO_SMALL: 'On the standard engine, the documents, conversation and answer exceed the model’s context; use the tiered engine or fewer documents.',
  // Settings
  INVALID_SETTING: 'A setting is out of its range; the message names the setting and the range.',
  GPU_BUDGET_TOO_SMALL: 'The GPU budget cannot hold the sink, the chunks and the question.',
  // KV tiers (the tiered engine)
  DISK_BUDGET_EXCEEDED: 'The documents’ KV alone is larger than the whole disk budget.',
  DISK_FULL: 'The disk is full; nothing was half-written and other documents are fine.',
  DISK_WRITE_FAILED: 'Writing KV to disk failed (an I/O error); nothing was half-written.',
  BLOB_CORRUPT: 'A stored chunk failed its checksum; the document is read again.',
  BLOB_MISMATCH: 'A stored chunk does not belong where it was asked for; the document is read again.',
  BAD_BLOB: 'llama.cpp could not parse a stored chunk; the document is read again.',
  CATALOG_UNREADABLE: 'The SQLite catalog could not be opened or read.',
  KV_FULL: 'The GPU tier has no room for the cells asked for (a bug: budgets are checked before).',
  KV_CHUNK_OUT_OF_RANGE: 'A stored chunk lies outside its document’s tokens (a bug).',
  KV_CHUNK_OUT_OF_ORDER: 'Stored chunks were written out of order (a bug).',
  KV_INGEST_INCOMPLETE: 'A document’s read was marked done before all its chunks were stored (a bug).',
  KV_INGEST_NOT_RUNNING: 'A chunk was stored for a read that is not running (a bug).',
  INGEST_ORDER: 'A read was resumed at the wrong place (a bug).',
  INGEST_MISMATCH: 'A resumed read does not match what was stored; it starts over.',
  GPU_BUDGET_VIOLATION: 'The GPU tier would exceed its budget (a bug: the tier manager refuses it).',
  PINNED_OVER_BUDGET: 'The chunks that must stay resident alone exceed the GPU budget; raise the budget.',
  // The addon
  CAPTURE_FAILED: 'The addon could not capture a layer’s keys or queries from llama.cpp’s graph.',
  CAPTURE_MISSING: 'An answer needed captured queries that were not captured.',
  CONTEXT_FAILED: 'llama.cpp could not create the GPU tier’s context.',
  DECODE_FAILED: 'llama.cpp failed to evaluate a batch.',
  EMPTY_RANGE: 'A chunk of no tokens was asked for (a bug).',
  BUSY: 'The addon’s context is in use by another call (a bug: calls are queued).',
  NOT_INITIALIZED: 'The addon was used before its libraries were loaded.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
