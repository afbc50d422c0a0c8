{
  # The addon compiles against the headers of the llama.cpp that node-llama-cpp bundles (extracted by
  # build.mjs into .llama-headers/) and links nothing of llama.cpp: LlamaApi dlopen()s the shared
  # libraries of the variant node-llama-cpp chose (cpu, cuda, vulkan) at run time.
  "targets": [
    {
      "target_name": "strata_tier",
      "sources": [
        "src/core/LlamaApi.cpp",
        "src/core/BlobLayout.cpp",
        "src/core/QkCapture.cpp",
        "src/core/TierModel.cpp",
        "src/core/TierContext.cpp",
        "src/core/ScoreChunks.cpp",
        "src/binding/addon.cpp",
        "src/binding/AddonModel.cpp",
        "src/binding/AddonContext.cpp",
        "src/binding/AddonScoring.cpp",
        "src/binding/convert.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        ".llama-headers/include",
        ".llama-headers/ggml/include",
        "src"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "STRATA_LLAMA_CPP_RELEASE=\"<!(node -p \"require('fs').readFileSync('.llama-headers/VERSION', 'utf8').trim()\")\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-ldl"] }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }],
        ["OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
        }]
      ]
    }
  ]
}
