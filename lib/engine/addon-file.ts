// Which file the native addon loads from: SIMD_OPTIM_BINDING if set, else
// what pkg-prebuilds finds: a local build (build/Release, from a source build)
// first, then the prebuild for this platform in prebuilds/. Resolved at run
// time, so that a prebuild is used even when npm did not run the install
// script (--ignore-scripts, or a policy that blocks dependencies' scripts).
import * as path from 'node:path';

interface BindingOptions {
  name: string;
  napi_versions: number[];
}
type Resolve = (basePath: string, options: BindingOptions, verifyPrebuild: boolean, throwOnMissing: boolean) => string | null;

const root = path.join(__dirname, '..', '..');

/** The addon's path; throws, in one line, if there is neither a build nor a prebuild for this platform. */
export function addonFile(): string {
  if (process.env.SIMD_OPTIM_BINDING) return process.env.SIMD_OPTIM_BINDING;
  const options = require('../../binding-options') as BindingOptions;
  const resolve = (require('pkg-prebuilds') as { resolve: Resolve }).resolve;
  const found = resolve(root, options, false, false);
  if (!found) {
    throw new Error(`no build of the addon in build/Release and no prebuild for ${process.platform}-${process.arch} in prebuilds/`);
  }
  return found;
}
