"""Ergonomics (U1): the same cnn task written in PyTorch, Keras 3, TensorFlow with GradientTape and JAX with flax,
run to the same losses and measured from their source."""
