// How the addon is named, for pkg-prebuilds: the CMake target's file name
// (simd_optim.node) and the Node-API versions it is compiled for (the same
// list cmake-js reads). Shared by the loader (lib/addon-file.ts), the install
// script and scripts/prebuild.sh, so that all three agree on the paths.
'use strict';
module.exports = { name: 'simd_optim', napi_versions: require('./package.json').binary.napi_versions };
