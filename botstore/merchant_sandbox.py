"""The sandbox merchant templates render in: Jinja's immutable sandbox, with every render on a
budget of loop iterations, calls, value sizes, reply length and CPU time.

Templates render on the event loop, so one that loops a million times stalls every fan. Jinja's
sandbox stops attribute tricks, not work: here the generated code counts each loop item, each call
(functions, methods, macros, filters) and the output, and measures every value a template builds,
so that no value grows past a size, and a template past any limit fails with a reason a merchant
can read (TemplateLimitExceeded). Operations whose result can be far larger than their inputs
('x' * n, widths in formats and filters, replace, join, lipsum...) are refused from an estimate
before they run, since measuring afterwards would be too late.
"""

import gc
import math
import operator
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MappingView
from dataclasses import dataclass
from itertools import chain
from string import Formatter
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import LRUCache, _PassArg, generate_lorem_ipsum

MAX_LOOP_ITERATIONS = 10_000  # all loops of one render together, nested ones included
MAX_CALLS = 10_000  # functions, methods, macros and filters
MAX_VALUE_SIZE = 20_000  # characters of a text; items (and their characters) of a list or dict
MAX_REPLY_CHARS = 10_000  # WeChat cuts a passive text reply at about 2,048 bytes anyway
MAX_NUMBER_DIGITS = 100
MAX_RENDER_MILLISECONDS = 5.0  # of CPU time, so another process's load is not counted
COMPILED_TEMPLATES = 256  # compiled merchant templates kept, by source
CLOCK_EVERY = 32  # loop items between clock readings: a reading costs as much as a few items


class _CollectorTime:
    """CPU time the garbage collector has taken, per thread. A collection can start in any
    render (whichever allocation crosses the threshold) and take milliseconds of a heap that
    isn't the template's: the render's clock leaves it out."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.seconds: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        thread, now = threading.get_ident(), time.thread_time()
        if phase == "start":
            self.started[thread] = now
        elif thread in self.started:
            self.seconds[thread] = self.seconds.get(thread, 0.0) + now - self.started.pop(thread)


_collector_time = _CollectorTime()
gc.callbacks.append(_collector_time)


def render_cpu_time() -> float:
    """This thread's CPU time in seconds, less garbage collections."""
    return time.thread_time() - _collector_time.seconds.get(threading.get_ident(), 0.0)


class TemplateLimitExceeded(TemplateRuntimeError):
    """A merchant template would take too long or build too much; the message says which."""


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """What one render may spend, and the reasons given past each limit."""

    loop_iterations: int = MAX_LOOP_ITERATIONS
    calls: int = MAX_CALLS
    value_size: int = MAX_VALUE_SIZE
    reply_chars: int = MAX_REPLY_CHARS
    number_digits: int = MAX_NUMBER_DIGITS
    milliseconds: float = MAX_RENDER_MILLISECONDS
    clock: Callable[[], float] = render_cpu_time  # seconds; tests pass a fake one

    def too_long(self) -> TemplateLimitExceeded:
        return TemplateLimitExceeded(
            f"the template took more than {self.milliseconds:g} ms to render"
        )

    def too_big(self) -> TemplateLimitExceeded:
        return TemplateLimitExceeded(
            f"the template builds a text or list larger than {self.value_size:,}"
            " characters or items"
        )

    def too_many_digits(self) -> TemplateLimitExceeded:
        return TemplateLimitExceeded(
            f"the template makes a number longer than {self.number_digits:,} digits"
        )


class RenderBudget:
    """What one render may still spend; generated code reaches it as `context.budget`."""

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.iterations = 0
        self.calls = 0
        self.output = 0
        self.deadline = limits.clock() + limits.milliseconds / 1000
        self.largest_number = 10**limits.number_digits
        # id -> (container, weight): keeping the container keeps its id from being reused.
        self.weights: dict[int, tuple[object, int]] = {}

    def check_clock(self) -> None:
        if self.limits.clock() > self.deadline:
            raise self.limits.too_long()

    def loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """`iterable`, counting each item against the render's loop iterations."""
        limit = self.limits.loop_iterations
        for item in iterable:
            self.iterations += 1
            if self.iterations > limit:
                raise TemplateLimitExceeded(f"the template loops more than {limit:,} times")
            if self.iterations % CLOCK_EVERY == 0:
                self.check_clock()
            yield item

    def count_call(self) -> None:
        self.calls += 1
        if self.calls > self.limits.calls:
            raise TemplateLimitExceeded(
                f"the template calls functions or filters more than {self.limits.calls:,} times"
            )
        self.check_clock()

    def weight(self, value: object) -> int:
        """Characters of a text, 1 for a number, and for a container 1 plus its items' weights,
        a shared item counted each time it appears (as printing or comparing it would)."""
        if isinstance(value, str | bytes):
            return len(value)
        if isinstance(value, int):
            if not -self.largest_number < value < self.largest_number:
                raise self.limits.too_many_digits()
            return 1
        if not isinstance(value, list | tuple | dict | set | frozenset):
            # A range or a builtin iterator holds its items for C code to go through
            # (dict.fromkeys(range(100000))): they count, as a list's would.
            if isinstance(value, range | MappingView):
                return 1 + len(value)
            if isinstance(value, Iterator) and type(value).__module__ == "builtins":
                return 1 + operator.length_hint(value)
            return 1
        known = self.weights.get(id(value))
        if known is not None:
            return known[1]
        total = self.items_weight(value.values() if isinstance(value, dict) else value)
        if isinstance(value, dict):
            total += self.items_weight(value.keys())
        self.weights[id(value)] = (value, total)
        return total

    def items_weight(self, items: Iterable[object]) -> int:
        total = 1
        limit, largest = self.limits.value_size, self.largest_number
        for item in items:
            kind = type(item)  # the common kinds inline: this runs for every item of a list
            if kind is str:
                total += len(item)
            elif kind is int and -largest < item < largest:
                total += 1
            else:
                total += self.weight(item)
            if total > limit:
                raise self.limits.too_big()
        return total

    def value(self, value: Any) -> Any:
        """`value`, once measured: every value a template builds passes through here."""
        if self.weight(value) > self.limits.value_size:
            raise self.limits.too_big()
        return value

    def expect(self, size: int) -> None:
        """Refuse an operation whose result is estimated at `size`, before it runs."""
        if size > self.limits.value_size:
            raise self.limits.too_big()

    def write(self, piece: str) -> None:
        self.output += len(piece)
        if self.output > self.limits.reply_chars:
            raise TemplateLimitExceeded(
                f"the reply would be longer than {self.limits.reply_chars:,} characters"
            )

    def buffer(self) -> "BoundedBuffer":
        return BoundedBuffer(self)


class BoundedBuffer(list[str]):
    """The output a macro, {% set %} block or {% filter %} block captures, within the size."""

    __slots__ = ("budget", "size")

    def __init__(self, budget: RenderBudget) -> None:
        super().__init__()
        self.budget = budget
        self.size = 0

    def append(self, piece: str) -> None:
        self.size += len(piece)
        if self.size > self.budget.limits.value_size:
            raise self.budget.limits.too_big()
        super().append(piece)

    def extend(self, pieces: Iterable[str]) -> None:
        for piece in pieces:
            self.append(piece)


class BudgetedContext(Context):
    """A render's context, carrying its budget; contexts derived from it share the budget."""

    def __init__(
        self,
        environment: "MerchantSandbox",
        parent: dict[str, Any],
        name: str | None,
        blocks: dict[str, Callable[[Context], Iterator[str]]],
        globals: Any = None,
    ) -> None:
        super().__init__(environment, parent, name, blocks, globals)
        self.budget = RenderBudget(environment.limits)

    def derived(self, locals: dict[str, Any] | None = None) -> Context:
        context = super().derived(locals)
        context.budget = self.budget
        return context


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, writing the budget's checks into the compiled template."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counted_loops: set[int] = set()  # ids of the for loops' iterables

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self.counted_loops.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        # Jinja allows no new node types: a loop's iterable is recognised here as it is written.
        if id(node) not in self.counted_loops:
            return super().visit(node, *args, **kwargs)
        self.counted_loops.discard(id(node))
        self.write("context.budget.loop(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = context.budget.buffer()")

    def _measured(
        self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame
    ) -> None:
        self.write("context.budget.value(")
        visit(node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self._measured(super().visit_Concat, node, frame)

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._measured(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._measured(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a loop's or a set's target, not a value
            super().visit_Tuple(node, frame)
        else:
            self._measured(super().visit_Tuple, node, frame)


class BoundedTemplate(Template):
    """A template whose render stops as soon as the output passes the reply length."""

    environment: "MerchantSandbox"

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        context = self.new_context(dict(*args, **kwargs))
        budget: RenderBudget = context.budget
        try:
            for piece in self.root_render_func(context):
                budget.write(piece)
                yield piece
        except RecursionError:
            raise TemplateLimitExceeded("the template calls macros or loops too deeply") from None
        except Exception:
            yield self.environment.handle_exception()

    def render(self, *args: Any, **kwargs: Any) -> str:
        return "".join(self.generate(*args, **kwargs))


# --- estimates of results far larger than the inputs ----------------------------------------
# Each takes the call's own arguments (a filter's value first) and returns the size the result
# could reach, in RenderBudget.weight units. A call whose arguments don't fit skips the estimate:
# the call itself then fails with Python's reason.

Estimate = Callable[..., int]
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_HUGE = 10**12


def _number(value: object) -> int:
    """A width or count as an int (0 if it isn't one), never converting a long digit string."""
    if isinstance(value, int):
        return abs(value)
    if isinstance(value, str) and value.isdigit():
        return int(value) if len(value) < 10 else _HUGE
    return 0


def _widths(specs: Iterable[str | None], args: Iterable[object]) -> int:
    """The widths and precisions written in format specs; `*` or a nested {} takes the
    largest number among the arguments."""
    largest_argument = max((_number(arg) for arg in args), default=0)
    total = 0
    for spec in specs:
        if not spec:
            continue
        if "*" in spec or "{" in spec:
            total += largest_argument
        total += sum(_number(digits) for digits in _DIGITS.findall(spec))
    return total


def _printf(budget: RenderBudget, template: object, args: object) -> int:
    if not isinstance(template, str):
        return 0
    if isinstance(args, Mapping):
        values = list(args.values())
    else:
        values = list(args) if isinstance(args, tuple) else [args]  # as % spreads them
    fields = _PRINTF_FIELD.finditer(template)
    specs = ["".join(group or "" for group in field.groups()) for field in fields]
    weights = sum(budget.weight(value) for value in values)
    return len(template) + weights + _widths(specs, values)


def _str_format(budget: RenderBudget, template: str, *args: object, **kwargs: object) -> int:
    values = [*args, *kwargs.values()]
    try:
        specs = [spec for _, _, spec, _ in Formatter().parse(template)]
    except ValueError:
        return 0
    weights = sum(budget.weight(value) for value in values)
    return len(template) + weights + _widths(specs, values)


def _str_format_map(budget: RenderBudget, template: str, mapping: object) -> int:
    values = mapping if isinstance(mapping, Mapping) else {}
    return _str_format(budget, template, **{str(key): value for key, value in values.items()})


def _replace(
    budget: RenderBudget, text: object, old: object, new: object, count: object = -1
) -> int:
    if not isinstance(text, str | bytes) or not isinstance(old, str | bytes):
        return 0
    found = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * budget.weight(new)


def _join(budget: RenderBudget, separator: object, items: object) -> int:
    if not isinstance(items, list | tuple | str):
        return 0  # materialized by the caller first
    return budget.weight(items) + len(items) * budget.weight(separator)


def _pad(budget: RenderBudget, text: object, width: object = 80, *fill: object) -> int:
    return max(budget.weight(text), _number(width))


def _expandtabs(budget: RenderBudget, text: object, tabsize: object = 8) -> int:
    tabs = text.count("\t") if isinstance(text, str) else 0
    return budget.weight(text) + tabs * _number(tabsize)


def _translate(budget: RenderBudget, text: object, table: object, *delete: object) -> int:
    values = table.values() if isinstance(table, Mapping) else [table]
    return budget.weight(text) * max(1, *map(budget.weight, values))


def _to_bytes(budget: RenderBudget, number: object, length: object = 1, *rest: object) -> int:
    return _number(length)


METHOD_ESTIMATES: dict[str, Estimate] = {
    "center": _pad,
    "ljust": _pad,
    "rjust": _pad,
    "zfill": _pad,
    "expandtabs": _expandtabs,
    "replace": _replace,
    "translate": _translate,
    "join": _join,
    "format": _str_format,
    "format_map": _str_format_map,
}


def _indent(budget: RenderBudget, text: object, width: object = 4, *flags: object) -> int:
    lines = str(text).count("\n") + 1
    indent = len(width) if isinstance(width, str) else _number(width)
    return budget.weight(text) + lines * indent


def _wordwrap(
    budget: RenderBudget,
    text: object,
    width: object = 79,
    break_long_words: object = True,
    wrapstring: object = None,
    *flags: object,
) -> int:
    text = str(text)
    width = max(_number(width), 1)
    breaks = len(text) // width + text.count("\n") + 1
    # textwrap copies what is left of a long word at each break: quadratic in its length
    # (copying is cheap next to building: 50 characters copied count as one built).
    longest_word = max(map(len, text.split()), default=0)
    return max(
        len(text) + breaks * budget.weight(wrapstring or "\n"), longest_word**2 // width // 50
    )


def _batch(
    budget: RenderBudget, items: object, linecount: object, fill_with: object = None
) -> int:
    size = budget.weight(items)
    return size + _number(linecount) * (budget.weight(fill_with) if fill_with is not None else 0)


def _slice(budget: RenderBudget, items: object, slices: object, fill_with: object = None) -> int:
    return budget.weight(items) + _number(slices) * (1 + budget.weight(fill_with))


def _round(budget: RenderBudget, value: object, precision: object = 0, *method: object) -> int:
    if _number(precision) > budget.limits.number_digits:
        raise budget.limits.too_many_digits()
    return 0


def _sum(budget: RenderBudget, items: object, attribute: object = None, start: object = 0) -> int:
    if isinstance(start, int | float):
        return 0
    # Adding lists or tuples copies the running total each time: quadratic.
    count = len(items) if isinstance(items, list | tuple) else 0
    return budget.weight(start) + budget.weight(items) * (1 + count)


def _tojson(budget: RenderBudget, value: object, indent: object = None) -> int:
    return budget.weight(value) * (2 + _number(indent))


def _pprint(budget: RenderBudget, value: object) -> int:
    return budget.weight(value) * 20  # pprint is slow Python: over a microsecond an item


def _urlize(budget: RenderBudget, text: object, *args: object, **kwargs: object) -> int:
    # Slow Python, word by word; and every link gets the attributes (a link every few characters).
    extra = sum(budget.weight(value) for value in [*args, *kwargs.values()] if value)
    return budget.weight(text) * (4 + extra // 4)


def _format(budget: RenderBudget, template: object, *args: object, **kwargs: object) -> int:
    return _printf(budget, template, kwargs or args)


def _join_filter(
    budget: RenderBudget, items: object, separator: object = "", *attribute: object
) -> int:
    return _join(budget, separator, items)


FILTER_ESTIMATES: dict[str, Estimate] = {
    "center": _pad,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "format": _format,
    "join": _join_filter,
    "batch": _batch,
    "slice": _slice,
    "round": _round,
    "sum": _sum,
    "tojson": _tojson,
    "pprint": _pprint,
    "urlize": _urlize,
}
# Filters that go through the items of their value: each item counts as a loop iteration, as
# `range(100000)|select("odd")|list` runs a test 100,000 times with no loop in sight.
STREAMING = {"list", "map", "select", "reject", "selectattr", "rejectattr", "unique", "sort"}
STREAMING |= {"groupby", "min", "max", "sum", "join", "batch", "slice"}
# Of those, the ones whose estimate needs the items: they get them as a list.
MATERIALIZED = {"join", "sum", "batch", "slice"}


def _lipsum(
    budget: RenderBudget, n: object = 5, html: object = True, min: object = 20, max: object = 100
) -> int:
    return _number(n) * _number(max) * 12  # words of up to 12 characters, with spaces


def _estimate(budget: RenderBudget, estimate: Estimate, *args: Any, **kwargs: Any) -> None:
    try:
        size = estimate(budget, *args, **kwargs)
    except TypeError:
        return  # arguments the call itself refuses
    budget.expect(size)


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    estimate = FILTER_ESTIMATES.get(name)
    # What the filter wants first, as Context.call would work it out on every call.
    first: Callable[[Context], tuple[Any, ...]] = {
        _PassArg.context: lambda context: (context,),
        _PassArg.eval_context: lambda context: (context.eval_ctx,),
        _PassArg.environment: lambda context: (context.environment,),
    }.get(_PassArg.from_obj(original), lambda context: ())

    @pass_context
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget: RenderBudget = context.budget
        budget.count_call()
        if name in STREAMING:
            value = budget.loop(value)
            if name in MATERIALIZED:
                value = budget.value(list(value))
        if estimate is not None:
            _estimate(budget, estimate, value, *args, **kwargs)
        return budget.value(original(*first(context), value, *args, **kwargs))

    bounded.__name__ = name
    bounded.__doc__ = original.__doc__
    return bounded


# Keyword arguments Jinja's generated code adds to calls, not the template's own.
_INTERNAL_KWARGS = frozenset({"_loop_vars", "_block_vars", "caller"})


class MerchantSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, every render on a budget (TemplateLimits)."""

    code_generator_class = BoundedCodeGenerator
    context_class = BudgetedContext
    template_class = BoundedTemplate
    # All the operators that can build a larger value than their operands.
    intercepted_binops = frozenset({"+", "-", "*", "**", "%"})

    def __init__(
        self,
        limits: TemplateLimits = TemplateLimits(),  # noqa: B008 (frozen: safe to share)
        filters: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        super().__init__(autoescape=False)
        self.limits = limits
        self.filters.update(filters or {})
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.compiled: LRUCache = LRUCache(COMPILED_TEMPLATES)

    def from_string(
        self, source: str | nodes.Template, globals: Any = None, template_class: Any = None
    ) -> Template:
        """Compiling costs far more than rendering, and a keyword reply renders on every
        matching message: a compiled template is kept, by its source."""
        if not isinstance(source, str) or globals is not None or template_class is not None:
            return super().from_string(source, globals, template_class)
        template = self.compiled.get(source)
        if template is None:
            template = self.compiled[source] = super().from_string(source)
        return template

    def concat(self, pieces: Iterable[str]) -> str:
        """Joins a {% block %}'s output when a template calls it (self.name())."""
        buffer: list[str] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            if size > self.limits.value_size:
                raise self.limits.too_big()
            buffer.append(piece)
        return "".join(buffer)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget: RenderBudget = context.budget
        budget.count_call()
        if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (budget.loop(args[0]), *args[1:])
        else:
            own = {key: value for key, value in kwargs.items() if key not in _INTERNAL_KWARGS}
            # The arguments together: a call can gather them into one value (cycler(*items)).
            budget.items_weight(chain(args, own.values()))
            method = getattr(obj, "__wrapped__", obj)  # str.format comes wrapped by the sandbox
            receiver = getattr(method, "__self__", None)
            name = getattr(method, "__name__", "")
            if isinstance(receiver, str | bytes) and name in METHOD_ESTIMATES:
                if name == "join" and args and not isinstance(args[0], list | tuple | str):
                    args = (budget.value(list(budget.loop(args[0]))), *args[1:])
                _estimate(budget, METHOD_ESTIMATES[name], receiver, *args, **own)
            elif isinstance(receiver, int) and name == "to_bytes":
                _estimate(budget, _to_bytes, receiver, *args, **own)
            elif obj is generate_lorem_ipsum:
                _estimate(budget, _lipsum, *args, **own)
        result = super().call(context, obj, *args, **kwargs)
        if isinstance(result, range):  # lazy: its numbers count when a loop or a call uses them
            return result
        return budget.value(result)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget: RenderBudget = context.budget
        if operator == "*":
            for times, repeated in ((left, right), (right, left)):
                if isinstance(times, int) and isinstance(repeated, str | bytes | list | tuple):
                    budget.expect(budget.weight(repeated) * max(times, 0))
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            bits = right * math.log2(abs(left)) if abs(left) > 1 else 0
            if bits > math.log2(budget.largest_number) + 1:
                raise budget.limits.too_many_digits()
        elif operator == "%":
            budget.expect(_printf(budget, left, right))
        return budget.value(super().call_binop(context, operator, left, right))
