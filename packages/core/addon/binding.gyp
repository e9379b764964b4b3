{
  "targets": [
    {
      "target_name": "birdvlm_native",
      "sources": ["src/addon.cc", "src/addon_training.cc", "src/addon_conv.cc", "src/addon_image.cc", "src/augment.cc", "src/im2col.cc", "src/depthwise.cc", "src/training.cc", "src/sgemm.cc", "src/sgemm_direct.cc", "src/sgemm_pack.cc", "src/gemv.cc", "src/thread_pool.cc", "src/elementwise.cc", "src/attention.cc", "src/bf16.cc", "src/stream.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["-O3", "-fopenmp-simd"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
