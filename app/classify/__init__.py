"""Classification: categories, the ONNX model registry and runtime, training, review."""
