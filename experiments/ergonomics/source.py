"""Counts of a program's source, from Python's own tokenize and ast: logical lines, tokens, framework API names,
framework-specific concepts and nesting depth, leaving out the harness's marked lines, docstrings and comments."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field

#: Lines from a comment starting with HARNESS_BEGIN to one starting with HARNESS_END (both included) are fwbench's
#: plumbing inside a program (the shared weights and data in, the result file out): not counted.
HARNESS_BEGIN, HARNESS_END = "# harness-begin", "# harness-end"
#: Imports rooted at these packages are framework imports: an attribute chain from a name they bind is an API name.
FRAMEWORK_PACKAGES = ("torch", "tensorflow", "keras", "jax", "flax", "optax", "orbax")
#: Token types that are layout or commentary, not code a reader must read.
_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}
_BLOCKS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Match,
)


@dataclass(frozen=True)
class Concept:
    """A framework-specific idea a reader must know to follow a program, and the names that express it."""

    name: str = field(metadata={"help": "short name, as the chapter lists it"})
    meaning: str = field(metadata={"help": "what a reader must understand, in a clause"})
    names: tuple[str, ...] = field(
        metadata={
            "help": "how it shows in code: a dotted name matches a run of parts of a framework API name (nnx.split "
            "matches flax.nnx.split, data.Dataset tensorflow.data.Dataset.from_tensor_slices); a bare name matches an attribute (.backward), a keyword argument (training=) or "
            "the last part of an API name (tf.function)"
        }
    )


#: The concepts counted, each detected by the names that express it (none is counted from a comment or a string).
CONCEPTS = (
    Concept(
        "train/eval mode",
        "layers such as batch norm behave differently in training and evaluation, switched "
        "on the model or passed on every call",
        ("train", "eval", "training", "use_running_average"),
    ),
    Concept(
        "gradient tape",
        "operations are recorded on a tape that is then asked for gradients",
        ("GradientTape", "gradient"),
    ),
    Concept(
        "backward pass and zeroing",
        "gradients accumulate in the parameters: run backward, then clear them",
        ("backward", "zero_grad"),
    ),
    Concept(
        "gradient-free context",
        "evaluation runs inside a context that stops gradient bookkeeping",
        ("no_grad", "inference_mode", "stop_gradient"),
    ),
    Concept(
        "function transformations",
        "gradients are functions of functions (grad, value_and_grad)",
        ("grad", "value_and_grad"),
    ),
    Concept(
        "tracing and compilation",
        "a Python function is traced into a graph and its rules apply (no new "
        "variables after the first trace, Python side effects run once)",
        ("function", "jit"),
    ),
    Concept(
        "framework-driven training loop",
        "compile/fit/evaluate run the loop; the user configures it",
        ("compile", "fit", "evaluate"),
    ),
    Concept(
        "explicit random state",
        "random number streams or keys are passed to whatever draws random numbers",
        ("Rngs", "rngs", "PRNGKey", "random.key", "random.split"),
    ),
    Concept(
        "model state as data",
        "a model's state is split from its structure, saved or loaded as a dict or tree",
        ("state_dict", "load_state_dict", "nnx.split", "nnx.merge", "nnx.state"),
    ),
    Concept(
        "abstract shapes",
        "a model is created without memory, only shapes and dtypes, to receive a checkpoint",
        ("eval_shape", "ShapeDtypeStruct"),
    ),
    Concept(
        "checkpoint object graph",
        "a checkpoint matches saved and new objects through the attributes that "
        "reference them, and a partial match must be allowed",
        ("Checkpoint", "expect_partial", "assert_consumed"),
    ),
    Concept(
        "stateful metric objects",
        "losses are averaged by metric objects that are updated, read and reset",
        ("metrics.Mean", "metrics.Average", "reset_state"),
    ),
    Concept(
        "dataset and loader objects",
        "data is wrapped in the framework's dataset or loader type",
        ("DataLoader", "TensorDataset", "data.Dataset"),
    ),
    Concept("channels-first layout", "images must be reordered to the framework's channel order", ("permute",)),
    Concept(
        "static and data attributes",
        "a module's attributes are sorted into pytree data and static fields",
        ("nnx.data", "nnx.List", "nnx.Dict", "nnx.static"),
    ),
    Concept(
        "asynchronous work",
        "work continues in the background until the program waits for it",
        ("wait_until_finished", "block_until_ready"),
    ),
)


@dataclass(frozen=True)
class Counts:
    """What one program's source measures."""

    logical_lines: int = field(metadata={"help": "statements as Python counts them (NEWLINE tokens)"})
    tokens: int = field(metadata={"help": "tokens of code: names, operators, literals (a string is one)"})
    api_names: tuple[str, ...] = field(metadata={"help": "distinct framework API names, fully qualified"})
    concepts: tuple[str, ...] = field(metadata={"help": "names of the CONCEPTS the program uses"})
    max_nesting: int = field(metadata={"help": "deepest nesting of blocks (def, class, for, if, with, ...)"})
    harness_lines: int = field(metadata={"help": "physical lines left out as harness"})


def harness_lines(source: str) -> set[int]:
    """Line numbers (1-based) inside harness-begin ... harness-end, markers included; an unclosed block runs to the
    end of the file, and a stray end marker is an error (a miscount would be silent otherwise)."""
    lines, start = set(), None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        row = tok.start[0]
        if tok.string.startswith(HARNESS_BEGIN):
            if start is not None:
                raise ValueError(f"line {row}: {HARNESS_BEGIN} inside a harness block begun on line {start}")
            start = row
        elif tok.string.startswith(HARNESS_END):
            if start is None:
                raise ValueError(f"line {row}: {HARNESS_END} without a {HARNESS_BEGIN}")
            lines.update(range(start, row + 1))
            start = None
    if start is not None:
        lines.update(range(start, source.count("\n") + 2))
    return lines


def docstring_lines(tree: ast.Module) -> set[int]:
    """Lines of the module's, classes' and functions' docstrings (documentation, not code)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def _code_tokens(source: str, skip: set[int]) -> list[tokenize.TokenInfo]:
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.start[0] not in skip]


def framework_bindings(tree: ast.Module) -> dict[str, str]:
    """Local name -> the fully qualified framework module or object an import binds to it."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FRAMEWORK_PACKAGES:
                    # `import a.b` binds a; `import a.b as c` binds c to a.b.
                    bound[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] in FRAMEWORK_PACKAGES
        ):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _chain(node: ast.AST) -> list[str] | None:
    """['a', 'b', 'c'] for the expression a.b.c; None where the chain is not rooted at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def api_names(tree: ast.Module, skip: set[int]) -> set[str]:
    """Distinct fully qualified framework names the code uses: each longest attribute chain rooted at a name a
    framework import bound (nn.Conv2d -> torch.nn.Conv2d), in lines not skipped."""
    bound = framework_bindings(tree)
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}  # parts of a longer chain
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Attribute, ast.Name)) or id(node) in inner or node.lineno in skip:
            continue
        chain = _chain(node)
        if chain and chain[0] in bound:
            found.add(".".join([bound[chain[0]], *chain[1:]]))
    return found


def _used_names(tree: ast.Module, skip: set[int]) -> set[str]:
    """Attribute names and keyword-argument names of the code, in lines not skipped."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.lineno not in skip:
            names.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg and node.lineno not in skip:
            names.add(node.arg)
    return names


def concepts(tree: ast.Module, skip: set[int], apis: set[str] | None = None) -> list[str]:
    """Names of the CONCEPTS the code expresses (see Concept.names for how a name matches)."""
    apis = api_names(tree, skip) if apis is None else apis
    used = _used_names(tree, skip) | {a.rsplit(".", 1)[-1] for a in apis}
    found = []
    for concept in CONCEPTS:
        if any(any(f".{n}." in f".{a}." for a in apis) if "." in n else n in used for n in concept.names):
            found.append(concept.name)
    return found


def max_nesting(tree: ast.Module, skip: set[int]) -> int:
    """Deepest nesting of blocks among statements not skipped: a top-level statement is at 0, the body of a
    top-level def at 1; an elif continues its if rather than nesting in it."""
    deepest = 0

    def visit(stmts, depth):
        nonlocal deepest
        for s in stmts:
            if s.lineno not in skip:
                deepest = max(deepest, depth)
            if not isinstance(s, _BLOCKS):
                continue
            inner = [*s.body, *getattr(s, "finalbody", [])]
            for part in [*getattr(s, "handlers", []), *getattr(s, "cases", [])]:
                inner += part.body
            visit(inner, depth + 1)
            orelse = getattr(s, "orelse", [])
            elif_ = isinstance(s, ast.If) and len(orelse) == 1 and isinstance(orelse[0], ast.If)
            visit(orelse, depth if elif_ else depth + 1)

    visit(tree.body, 0)
    return deepest


def measure(source: str) -> Counts:
    """Every count of one program's source."""
    tree = ast.parse(source)
    harness = harness_lines(source)
    skip = harness | docstring_lines(tree)
    toks = _code_tokens(source, skip)
    apis = api_names(tree, skip)
    return Counts(
        logical_lines=sum(t.type == tokenize.NEWLINE for t in toks),
        tokens=sum(t.type not in _NOT_CODE for t in toks),
        api_names=tuple(sorted(apis)),
        concepts=tuple(concepts(tree, skip, apis)),
        max_nesting=max_nesting(tree, skip),
        harness_lines=len(harness),
    )
