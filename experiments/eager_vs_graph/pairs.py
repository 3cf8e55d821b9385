"""Which cells the timing claims compare across frameworks: read by the verdicts and by the sequential rule alike."""

#: Every comparison the timing verdicts read beyond each compiled mode against its own eager mode (E1, E4):
#: (baseline, candidates) pairs of (framework, variant), as E2, E3, E5 and E6 compare them.
CROSS_COMPARISONS = (
    (("torch", "eager"), [("tensorflow", "eager")]),
    (("tensorflow", "tf.function"), [("torch", "torch.compile")]),
    (("tensorflow", "tf.function+xla"), [("torch", "torch.compile"), ("tensorflow", "tf.function")]),
    (
        ("jax", "jax.jit"),
        [
            ("torch", "torch.compile"),
            ("torch", "torch.compile-reduce-overhead"),
            ("tensorflow", "tf.function"),
            ("tensorflow", "tf.function+xla"),
        ],
    ),
)
