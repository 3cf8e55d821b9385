"""Outside Python: exported models in ONNX Runtime for Node.js and the web, and TensorFlow.js, in Node and a headless browser (claim X7)."""
