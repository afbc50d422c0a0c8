#include "core/LlamaApi.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <regex>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace strata {
namespace {

std::mutex loadMutex;
std::unique_ptr<LlamaApi> loadedApi;  // never unloaded: llama.cpp objects may outlive any owner

#ifdef _WIN32
void* openLibrary(const std::string& path, std::string& error) {
  HMODULE module = LoadLibraryExA(path.c_str(), nullptr, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
  if (module == nullptr) error = "LoadLibrary failed with error " + std::to_string(GetLastError());
  return reinterpret_cast<void*>(module);
}
void* findSymbol(void* handle, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), name));
}
#else
void* openLibrary(const std::string& path, std::string& error) {
  // RTLD_GLOBAL: the ggml backends that ggml_backend_load_all_from_path() dlopen()s later resolve
  // their ggml-base symbols against this copy. Opening a path node-llama-cpp already opened returns
  // its mapping.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    const char* message = dlerror();
    error = message != nullptr ? message : "dlopen failed";
  }
  return handle;
}
void* findSymbol(void* handle, const char* name) {
  // dlsym on libllama's handle searches libllama and its dependencies (libggml, libggml-base).
  return dlsym(handle, name);
}
#endif

/** libllama.so, libllama.v0.5.0.so, libllama.cuda.v0.5.0.so, libllama.dylib, llama.dll — not libllama-common. */
std::string findLlamaLibrary(const std::string& binsDir) {
  namespace fs = std::filesystem;
  static const std::regex pattern(R"(^(lib)?llama(\.[A-Za-z0-9_.-]+)?\.(so|dylib|dll)$)");
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(binsDir), ec)) {
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, pattern)) continue;
    if (best.empty() || name.size() > best.size()) best = name;  // prefer the versioned name over a bare symlink
  }
  if (ec) throw CoreError{"LOAD_FAILED", "cannot read the llama.cpp binaries folder " + binsDir + ": " + ec.message()};
  if (best.empty()) throw CoreError{"LOAD_FAILED", "no libllama shared library in " + binsDir};
  return (fs::path(binsDir) / best).string();
}

ggml_log_level lastLevel = GGML_LOG_LEVEL_NONE;

/** Used only when this addon initialised the backends itself: warnings and errors to stderr, unless STRATA_LLAMA_LOG=debug. */
void quietLogger(ggml_log_level level, const char* text, void*) {
  static const bool verbose = [] {
    const char* value = std::getenv("STRATA_LLAMA_LOG");
    return value != nullptr && std::strcmp(value, "debug") == 0;
  }();
  const ggml_log_level effective = level == GGML_LOG_LEVEL_CONT ? lastLevel : level;
  if (level != GGML_LOG_LEVEL_CONT) lastLevel = level;
  if (verbose || effective >= GGML_LOG_LEVEL_WARN) std::fputs(text, stderr);
}

const char* deviceTypeName(enum ggml_backend_dev_type type) {
  switch (type) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    default: return "accel";
  }
}

}  // namespace

Status LlamaApi::load(const std::string& binsDir, const LlamaApi** out) noexcept {
  try {
    std::lock_guard<std::mutex> lock(loadMutex);
    if (loadedApi) {
      std::error_code ec;
      if (!std::filesystem::equivalent(loadedApi->info_.binsDir, binsDir, ec)) {
        return Status::fail("LOAD_FAILED", "llama.cpp is already loaded from " + loadedApi->info_.binsDir +
                                               "; one process uses one variant, not also " + binsDir);
      }
      *out = loadedApi.get();
      return Status::ok();
    }

    std::unique_ptr<LlamaApi> api(new LlamaApi());
    api->info_.binsDir = binsDir;
    api->info_.libraryPath = findLlamaLibrary(binsDir);
    std::string error;
    api->handle_ = openLibrary(api->info_.libraryPath, error);
    if (api->handle_ == nullptr) return Status::fail("LOAD_FAILED", "cannot load " + api->info_.libraryPath + ": " + error);

    std::string missing;
#define STRATA_RESOLVE_REQUIRED(name)                                                       \
  api->name = reinterpret_cast<decltype(api->name)>(findSymbol(api->handle_, #name));       \
  if (api->name == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#name);
    STRATA_REQUIRED_FUNCTIONS(STRATA_RESOLVE_REQUIRED)
#undef STRATA_RESOLVE_REQUIRED
#define STRATA_RESOLVE_OPTIONAL(name) api->name = reinterpret_cast<decltype(api->name)>(findSymbol(api->handle_, #name));
    STRATA_OPTIONAL_FUNCTIONS(STRATA_RESOLVE_OPTIONAL)
#undef STRATA_RESOLVE_OPTIONAL
    if (!missing.empty()) {
      return Status::fail("LOAD_FAILED", api->info_.libraryPath + " lacks " + missing +
                                             " (built for another llama.cpp release than the addon's headers?)");
    }

    // The prebuilt libllama holds no CPU code: its backends are separate libraries in the same folder.
    // node-llama-cpp registers them when it initialises; otherwise this addon does.
    if (api->ggml_backend_reg_by_name("CPU") == nullptr) {
      api->llama_log_set(quietLogger, nullptr);
      api->ggml_backend_load_all_from_path(binsDir.c_str());
      api->info_.loadedBackends = true;
      if (api->ggml_backend_reg_by_name("CPU") == nullptr) {
        return Status::fail("LOAD_FAILED", "no CPU backend could be loaded from " + binsDir);
      }
    }
    api->llama_backend_init();

    for (size_t i = 0; i < api->ggml_backend_dev_count(); ++i) {
      ggml_backend_dev_t device = api->ggml_backend_dev_get(i);
      api->info_.devices.push_back({api->ggml_backend_dev_name(device), deviceTypeName(api->ggml_backend_dev_type(device))});
    }

    loadedApi = std::move(api);
    *out = loadedApi.get();
    return Status::ok();
  } catch (const CoreError& error) {
    return Status::fail(error.code, error.message);
  } catch (const std::exception& error) {
    return Status::fail("LOAD_FAILED", error.what());
  } catch (...) {
    return Status::fail("LOAD_FAILED", "unknown error while loading llama.cpp");
  }
}

const LlamaApi* LlamaApi::loaded() noexcept {
  std::lock_guard<std::mutex> lock(loadMutex);
  return loadedApi.get();
}

}  // namespace strata
