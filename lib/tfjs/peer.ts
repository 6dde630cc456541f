// simd-optim/tfjs needs the app's @tensorflow/tfjs-core (an optional peer
// dependency, so that the core package installs without TF.js). Without it,
// say what to install instead of Node's bare "Cannot find module".
try {
  require.resolve('@tensorflow/tfjs-core');
} catch {
  throw new Error(
    "simd-optim/tfjs needs TensorFlow.js: npm install @tensorflow/tfjs (or @tensorflow/tfjs-core, @tensorflow/tfjs-layers and a backend such as @tensorflow/tfjs-backend-cpu)",
  );
}
