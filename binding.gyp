{
  "variables": {
    "cmdcm_mpi%": "<!(node native/build-config.cjs mpi-found)"
  },
  "targets": [
    {
      "target_name": "cmdcm",
      "sources": ["<!@(node native/build-config.cjs sources)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS", "<!@(node native/build-config.cjs defines)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "<!@(node native/build-config.cjs cflags)"],
      "cflags": ["-O3"],
      "libraries": ["<!@(node native/build-config.cjs libraries)"]
    }
  ],
  "conditions": [
    ["cmdcm_mpi==1", {
      "targets": [
        {
          "target_name": "cmdcm_mpi",
          "sources": ["native/mpi/mpi.cc"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
          "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
          "cflags_cc": ["-std=c++17", "-O2", "-fPIC", "<!@(node native/build-config.cjs mpi-cflags)"],
          "libraries": ["<!@(node native/build-config.cjs mpi-libraries)"]
        }
      ]
    }]
  ]
}
