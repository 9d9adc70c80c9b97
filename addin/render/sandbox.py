"""The Jinja2 sandbox people's texts run in: no Python internals, and nothing huge (SPEC §5).

Jinja2's immutable sandbox already keeps a text away from Python internals and limits
``range`` to MAX_RANGE items. This one also refuses, before anything is allocated, whatever
would build a value or a result beyond ``MAX_SIZE`` characters: ``*`` and ``**`` (repetition,
huge powers), ``+``, ``%`` and ``~``, the filters and string methods that take a size
(``center``, ``indent``, ``wordwrap``, ``format``, ``join``, ``replace``, ``ljust`` …) and
``str.format`` widths. Loops share a budget of steps, and a render has a few seconds at most.
A refusal is a ``TooLarge`` (a ``SecurityError``); texts.render turns it into a Problem.

Sizes are estimates that never undercount what Python would allocate: a str's length, a
number's digits, a container's items. This module imports jinja2 at the top: texts imports it
lazily.
"""

from __future__ import annotations

import contextvars
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import update_wrapper
from typing import Any, cast

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter, SecurityError

MAX_SIZE = 1_000_000  # characters of any value a text builds, and of its result (SPEC §5: 1 MB)
MAX_STEPS = 100_000  # loop steps and calls of one render (Jinja2's MAX_RANGE)
MAX_WORK = 16_000_000  # steps x the text's length: what loop bodies may write, at most
MAX_SECONDS = 5.0  # wall time of one render
MAX_BITS = 14_000  # about 4,200 digits: Python writes no integer longer than 4,300 (and big ones are slow)


class TooLarge(SecurityError):
    """A text would build something too large (``loops`` False), or loop or take too long."""

    def __init__(self, message: str, *, loops: bool = False) -> None:
        super().__init__(message)
        self.loops = loops


class Budget:
    """What one render may still spend: loop steps, output, time."""

    def __init__(self, text_length: int, seconds: float | None = None) -> None:
        self.steps = min(MAX_STEPS, MAX_WORK // max(text_length, 1))
        self.output = MAX_SIZE
        self.deadline = time.monotonic() + (MAX_SECONDS if seconds is None else seconds)

    def step(self, n: int = 1) -> None:
        self.steps -= n
        if self.steps < 0:
            raise TooLarge("its loops and calls take too many steps", loops=True)
        if time.monotonic() > self.deadline:
            raise TooLarge("it takes too long to render", loops=True)

    def write(self, size: int) -> None:
        self.output -= size
        if self.output < 0:
            raise TooLarge(f"its result would exceed {MAX_SIZE // 1_000_000} MB")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("text_budget", default=None)


def render(template: Any, context: dict[str, Any], text_length: int, seconds: float | None = None) -> str:
    """``template.render(context)`` within a fresh Budget (the guards also work without one, on
    sizes alone, as when Jinja2 folds constants while compiling)."""
    token = _BUDGET.set(Budget(text_length, seconds))
    try:
        return str(template.render(context))
    finally:
        _BUDGET.reset(token)


def _step(n: int = 1) -> None:
    b = _BUDGET.get()
    if b is not None:
        b.step(n)


# --- sizes ------------------------------------------------------------------------------------

_SEQUENCES: tuple[type, ...] = (list, tuple, set, frozenset, type({}.keys()), type({}.values()), type({}.items()))


def size(value: object, limit: int = MAX_SIZE) -> int:
    """At least the characters ``str(value)`` takes (stops counting past ``limit``)."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100_000 + 2  # decimal digits
    if isinstance(value, float | Decimal | complex):
        return 40
    if isinstance(value, range):
        return len(value) * 2
    if isinstance(value, dict):
        value = list(value.items())
    if isinstance(value, _SEQUENCES):
        total = 2
        for item in cast("Iterable[object]", value):
            total += size(item, limit) + 2
            if total > limit:
                break
        return total
    return 64  # Undefined, macros, loop objects: short reprs


def _refuse(what: str) -> None:
    raise TooLarge(f"{what} would exceed {MAX_SIZE // 1_000_000} MB")


def _check(estimate: int, what: str = "a value it builds") -> None:
    if estimate > MAX_SIZE:
        _refuse(what)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _times(left: object, right: object) -> None:
    """``left * right``: a repetition or a product."""
    if isinstance(left, int) and not isinstance(right, int):
        left, right = right, left
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_BITS:
            _huge_number()
    elif isinstance(right, int) and isinstance(left, str | bytes | list | tuple):
        _check(size(left) * max(right, 0), "a repetition")


def _power(left: object, right: object) -> None:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and left.bit_length() * right > MAX_BITS:
        _huge_number()


def _huge_number() -> None:
    raise TooLarge("a number it computes would have more than 4,000 digits")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _printf(fmt: object, values: object) -> None:
    """``fmt % values`` (and the ``format`` filter): widths, precisions and the values."""
    if not isinstance(fmt, str):
        return
    items = list(values.values()) if isinstance(values, dict) else list(values) if isinstance(
        values, tuple) else [values]
    biggest = max((size(v) for v in items), default=0)
    star = max((_int(v) for v in items), default=0)
    estimate = len(fmt)
    for m in _PRINTF.finditer(fmt):
        for part in m.groups():
            estimate += star if part == "*" else int(part or 0)
        estimate += biggest
        _check(estimate, "a formatted value")


def _spec(format_spec: str) -> None:
    """A ``str.format`` spec: any width or precision beyond the limit is refused."""
    for digits in re.findall(r"\d+", format_spec):
        if len(digits) > 7 or int(digits) > MAX_SIZE:
            _refuse("a formatted value")


def _replaced(s: str, old: object, new: object, count: object = -1) -> None:
    if not (isinstance(old, str) and isinstance(new, str)):
        return
    found = s.count(old) if old else len(s) + 1
    n = _int(count, -1)
    if n >= 0:
        found = min(found, n)
    _check(len(s) + found * max(len(new) - len(old), 0), "a replacement")


def _joined(separator: object, items: list[Any]) -> None:
    total = size(separator) * max(len(items) - 1, 0)
    for item in items:
        total += size(item)
        _check(total, "a joined value")


# --- string and number methods ----------------------------------------------------------------

_BUILTIN_TYPES = (str, bytes, bytearray, int, float, complex, Decimal, list, tuple, dict, set, frozenset, range)
_PLAIN_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii",
    "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle",
    "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
    "upper", "encode", "decode", "hex", "bit_length", "conjugate", "is_integer", "as_integer_ratio", "copy",
    "get", "items", "keys", "values", "unescape", "striptags", "isdisjoint", "issubset", "issuperset",
    "union", "intersection", "difference", "symmetric_difference"
})


def _method_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Check a call of a str/number/container method; the arguments to call it with."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, _BUILTIN_TYPES) or not callable(obj):
        return args, kwargs
    name = getattr(obj, "__name__", "")
    if name in _PLAIN_METHODS:
        return args, kwargs
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        _check(max(size(owner), _int(first if args else kwargs.get("width"))), "a padded value")
    elif name == "expandtabs":
        tab = _int(first if args else kwargs.get("tabsize", 8), 8)
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t") if isinstance(
            owner, bytes | bytearray) else 0
        _check(size(owner) + tabs * max(tab, 0), "an expanded value")
    elif name == "join":
        items = list(args[0]) if args else []
        _joined(owner, items)
        args = (items, *args[1:])
    elif name == "replace" and isinstance(owner, str):
        _replaced(owner, *args[:3])
    elif name == "to_bytes":
        _check(_int(first if args else kwargs.get("length", 1), 1), "a value it builds")
    else:
        raise SecurityError(f"{type(owner).__name__}.{name}() is not allowed in a text")
    return args, kwargs


# --- filters ----------------------------------------------------------------------------------

def _estimate_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a filter whose result would be too large (its input and arguments are checked first)."""
    def arg(i: int, key: str, default: Any) -> Any:
        return args[i] if len(args) > i else kwargs.get(key, default)

    n = size(value)
    if name == "center":
        _check(max(n, _int(arg(0, "width", 80))), "a padded value")
    elif name == "indent":
        width = arg(0, "width", 4)
        pad = len(width) if isinstance(width, str) else _int(width)
        _check(n + (str(value).count("\n") + 1) * pad, "an indented value")
    elif name == "wordwrap":
        wrap = arg(2, "wrapstring", None)
        width = max(_int(arg(0, "width", 79), 1), 1)
        lines = n // width + str(value).count("\n") + 1
        _check(n + lines * (len(wrap) if isinstance(wrap, str) else 1), "a wrapped value")
    elif name == "format":
        _printf(value, kwargs or args)
    elif name == "replace":
        _replaced(str(value), arg(0, "old", ""), arg(1, "new", ""), arg(2, "count", None))
    elif name in ("batch", "slice"):
        count = _int(arg(0, "linecount" if name == "batch" else "slices", 1))
        if count > MAX_STEPS:
            _refuse(f"the {name} filter")
    elif name == "urlize":  # on its own at most ten times its input; what the arguments add, per link
        extra = sum(size(a) for a in (*args, *kwargs.values()))
        _check((n // 5 + 1) * extra, "the links it makes")
    elif name == "tojson":
        indent = _int(arg(0, "indent", None))
        _check(n + n * indent * _depth(value), "its JSON")
    elif name == "sum" and isinstance(arg(1, "start", 0), list | tuple) and isinstance(value, list | tuple):
        if len(value) > 10_000:  # adding lists one by one takes time squared
            _refuse("the sum filter")
    elif name == "truncate":
        _check(min(n, _int(arg(0, "length", 255))) + size(arg(2, "end", "...")), "a truncated value")


def _depth(value: object, limit: int = 100) -> int:
    """How deeply lists and dicts nest in ``value`` (at most ``limit``)."""
    if limit <= 0:
        return 0
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter ``func``, refusing an input, argument or result too large."""
    # Filters that take the environment or context get it first: the value comes after.
    lead = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    def guarded(*call_args: Any, **kwargs: Any) -> Any:
        if len(call_args) <= lead:
            return func(*call_args, **kwargs)
        value, args = call_args[lead], call_args[lead + 1:]
        if name in ("join", "sum", "list", "unique", "map", "select", "reject", "selectattr",
                    "rejectattr", "sort", "reverse") and not isinstance(value, str | dict | list | tuple | range):
            value = list(value) if isinstance(value, Iterable) else value
        _step()
        for item in (value, *args, *kwargs.values()):
            _check(size(item), "a value it uses")
        _estimate_filter(name, value, args, kwargs)
        if name == "join" and isinstance(value, Iterable) and not isinstance(value, str):
            _joined(args[0] if args else kwargs.get("d", ""), list(value))
        if name == "sum" and isinstance(value, list | tuple):
            _check(sum(size(v) for v in value), "a sum")
        return func(*call_args[:lead], value, *args, **kwargs)

    update_wrapper(guarded, func)
    return guarded


# --- the environment ----------------------------------------------------------------------------

class _Formatter(SandboxedFormatter):
    """``str.format`` with every width and precision bounded, and the whole result too."""

    total = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.total = len(format_string)
        _check(self.total, "a formatted value")
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _spec(format_spec)
        self.total += max(size(value), max((int(d) for d in re.findall(r"\d+", format_spec)), default=0))
        _check(self.total, "a formatted value")
        return super().format_field(value, format_spec)


class _Codegen(CodeGenerator):
    """Jinja2's code generator with two hooks: ``~`` goes through ``environment.concat_sized``
    and every ``for`` loop's items through ``environment.steps``."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._loop_items = getattr(self, "_loop_items", set()) | {id(node.iter)}
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> None:
        if id(node) in getattr(self, "_loop_items", ()):
            self._loop_items = self._loop_items - {id(node)}
            self.write("environment.steps(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return
        super().visit(node, *args, **kwargs)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_sized((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class TextSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, refusing what would be huge (see the module docstring)."""

    code_generator_class = _Codegen
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        # lipsum(n) makes n paragraphs; a namespace carries values from one loop step to the next
        # and writes them all when printed: a text has no use for either.
        for name in ("lipsum", "namespace"):
            self.globals.pop(name, None)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    @staticmethod
    def _finalize(value: Any) -> Any:
        """Every ``{{ … }}`` written, anywhere (a macro's or a block's buffer too), counts."""
        if type(value) is str:
            n = len(value)
        else:
            n = size(value)
            _check(n, "a value it writes")
        b = _BUDGET.get()
        if b is not None:
            b.write(n)
        return value

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        _step()
        if operator_ == "*":
            _times(left, right)
        elif operator_ == "**":
            _power(left, right)
        elif operator_ == "+" and not (isinstance(left, int | float) and isinstance(right, int | float)):
            _check(size(left) + size(right), "a sum")
        elif operator_ == "%" and isinstance(left, str):
            _printf(left, right)
        return super().call_binop(context, operator_, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _step()
        for item in (*args, *kwargs.values()):
            _check(size(item), "a value it passes")
        args, kwargs = _method_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or value.__name__ not in (
                "format", "format_map") or not isinstance(value.__self__, str):
            return None
        template: str = value.__self__
        is_map = value.__name__ == "format_map"

        def formatted(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return str(_Formatter(self).vformat(template, (), args[0]))
            return str(_Formatter(self).vformat(template, args, kwargs))

        return update_wrapper(formatted, value)

    @staticmethod
    def steps(items: Any) -> Iterator[Any]:
        """A loop's items, each one a step of the render's budget."""
        for item in items:
            _step()
            yield item

    @staticmethod
    def concat_sized(parts: tuple[Any, ...]) -> str:
        """``a ~ b ~ …``, refused beyond the limit before it is built."""
        _check(sum(size(p) for p in parts), "a joined value")
        return markup_join(parts) if any(hasattr(p, "__html__") for p in parts) else str_join(parts)

