"""The source counts on small literal programs whose counts are known by hand, and on the four real programs."""

import pytest

from fwbench.experiments.ergonomics import measure, source


def counts(text):
    return source.measure(text)


def test_lines_and_tokens_of_a_two_line_program():
    c = counts("import torch\ny = torch.zeros(\n    2)\n")
    assert c.logical_lines == 2  # the call over two physical lines is one statement
    assert c.tokens == 10  # import torch / y = torch . zeros ( 2 )
    assert c.api_names == ("torch.zeros",) and c.max_nesting == 0 and c.harness_lines == 0


def test_harness_lines_docstrings_and_comments_are_not_counted():
    text = (
        '"""A docstring\nover two lines."""\n'
        "# harness-begin\nimport json\nx = json.loads('1')\n# harness-end\n"
        "import torch  # a comment\n# a comment line\ny = torch.ones(1)\n"
    )
    c = counts(text)
    assert c.harness_lines == 4 and c.logical_lines == 2 and c.tokens == 2 + 8
    assert c.api_names == ("torch.ones",)


def test_markers_must_pair():
    with pytest.raises(ValueError, match="without a"):
        source.harness_lines("x = 1\n# harness-end\n")
    with pytest.raises(ValueError, match="inside a harness block"):
        source.harness_lines("# harness-begin\n# harness-begin\n")
    assert source.harness_lines("x = 1\n# harness-begin\ny = 2\n") == {2, 3, 4}  # unclosed: to the end


def test_api_names_are_longest_chains_from_framework_imports_fully_qualified():
    text = (
        "import numpy as np\nimport tensorflow as tf\nimport jax.numpy as jnp\nfrom torch import nn\n"
        "from torch.utils.data import DataLoader\n"
        "a = nn.Conv2d(1, 2, 3)\nb = tf.keras.layers.Dense(2)\nc = jnp.zeros(2)\nd = np.zeros(2)\n"
        "e = DataLoader([])\na.weight.add_(1)\nb = tf.keras.layers.Dense(3)\n"
    )
    assert counts(text).api_names == (
        "jax.numpy.zeros",
        "tensorflow.keras.layers.Dense",
        "torch.nn.Conv2d",
        "torch.utils.data.DataLoader",
    )


def test_concepts_come_from_attributes_keywords_and_api_names_never_from_plain_names_or_strings():
    text = (
        "import tensorflow as tf\nfrom flax import nnx\n"
        "def train(model):\n    return model\n"
        "train(1)\nlabel = 'backward zero_grad'\n"
        "with tf.GradientTape() as tape:\n    y = layer(x, training=True)\n"
        "state = nnx.split(model)\n"
    )
    found = counts(text).concepts
    assert found == ("train/eval mode", "gradient tape", "model state as data")
    assert counts("model.train()\n").concepts == ("train/eval mode",)
    assert counts("import tensorflow as tf\nds = tf.data.Dataset.from_tensor_slices(x)\n").concepts == (
        "dataset and loader objects",
    )


def test_nesting_counts_blocks_and_an_elif_continues_its_if():
    text = (
        "class A:\n    def f(self):\n        for i in x:\n            if i:\n                pass\n"
        "            elif j:\n                pass\n            else:\n                pass\n"
        "try:\n    pass\nexcept E:\n    pass\n"
    )
    assert counts(text).max_nesting == 4
    assert counts("x = 1\n").max_nesting == 0
    assert counts("if a:\n    pass\n").max_nesting == 1


@pytest.mark.parametrize("variant", list(measure.PROGRAMS))
def test_every_program_is_counted_without_its_harness(variant):
    text = measure.program_file(variant).read_text()
    c = source.measure(text)
    assert c.harness_lines > 0 and c.logical_lines > 0 and c.tokens > c.logical_lines
    assert c.api_names and all(n.split(".")[0] in source.FRAMEWORK_PACKAGES for n in c.api_names)
    assert not any("harness" in n for n in c.api_names)
    # The harness helpers are defined and called inside the markers only.
    counted = [line for i, line in enumerate(text.splitlines(), 1) if i not in source.harness_lines(text)]
    assert not any("harness_load" in line or "args." in line for line in counted)


def test_every_concept_has_names_and_a_meaning():
    assert len({c.name for c in source.CONCEPTS}) == len(source.CONCEPTS)
    assert all(c.names and c.meaning for c in source.CONCEPTS)
