// Per-environment state of the addon (one per Node/Electron context): the constructors used to wrap
// core objects that workers produce.
#pragma once

#include <napi.h>

namespace strata::binding {

struct AddonData {
  Napi::FunctionReference modelConstructor;
  Napi::FunctionReference contextConstructor;
};

inline AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace strata::binding
