"""The merchant sandbox's render budget: loops, calls, sizes, numbers, reply length, CPU time.

Every bomb here would hang the test (or exhaust memory) without the budget: none is timed, each
fails on a count or a size, so a slow machine changes nothing.
"""

from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botstore.merchant_sandbox import (
    MerchantSandbox,
    TemplateLimitExceeded,
    TemplateLimits,
)
from botstore.templating import merchant_environment, render_merchant

LOOPS = "the template loops more than 10,000 times"
TOO_BIG = "the template builds a text or list larger than 20,000 characters or items"
DIGITS = "the template makes a number longer than 100 digits"
REPLY = "the reply would be longer than 10,000 characters"
VALUES = {"text": "hello there", "openid": "o_fan", "nickname": "Ann"}


def render(source: str, env: MerchantSandbox | None = None) -> str:
    return render_merchant(env or merchant_environment(), source, **VALUES)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        # The issue's preview, and its saved rule (4 million iterations).
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            LOOPS,
        ),
        ("{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}", LOOPS),
        ("{% for i in range(100000) if i < 0 %}{% endfor %}", LOOPS),  # filtered items count
        (
            "{% for x in [1] recursive %}{% if loop.depth < 3 %}{{ loop(range(1000)) }}{% endif %}"
            "{% endfor %}",
            LOOPS,
        ),
        ("{{ range(100000)|select('odd')|list|length }}", LOOPS),  # filters loop too
        ("{{ range(100000)|sort|length }}", LOOPS),
        ("{{ range(100000)|list * 100000 }}", LOOPS),
        ("{{ 'x' * 10**9 }}", TOO_BIG),
        ("{{ range(10000)|list * 100000 }}", TOO_BIG),
        ("{{ [[0] * 5000] * 5000 }}", TOO_BIG),
        ("{{ 10 ** 10 ** 10 }}", DIGITS),
        ("{{ 10 ** 99 * 100 }}", DIGITS),
        ("{{ 5|round(-10000000) }}", DIGITS),
        ("{{ 5|round(1000000, 'floor') }}", DIGITS),
        ("{{ '%999999999s' % 1 }}", TOO_BIG),
        ("{{ '%*s' % (999999999, 1) }}", TOO_BIG),
        ("{{ '%.999999999f' % 1 }}", TOO_BIG),
        ("{{ '%(x)999999999s' % {'x': 1} }}", TOO_BIG),
        ("{{ '%s'|format('x' * 20000) }}", TOO_BIG),
        ("{{ '{:>999999999}'.format(1) }}", TOO_BIG),
        ("{{ '{0:{1}}'.format(1, 999999999) }}", TOO_BIG),
        ("{{ '{x:999999999}'.format_map({'x': 1}) }}", TOO_BIG),
        ("{{ 'a'|center(10**9) }}", TOO_BIG),
        ("{{ 'a'|center(1000000000) }}", TOO_BIG),  # would be folded at compile time otherwise
        ("{{ 'x'.ljust(10**9) }}", TOO_BIG),
        ("{{ 'x'.zfill(10**9) }}", TOO_BIG),
        ("{{ ('\t' * 10000).expandtabs(10000) }}", TOO_BIG),
        ("{{ ('a\n' * 5000)|indent(1000) }}", TOO_BIG),
        ("{{ ('a\n' * 5000)|indent('x' * 1000) }}", TOO_BIG),
        ("{{ ('a ' * 5000)|wordwrap(1) }}", TOO_BIG),
        ("{{ ('a' * 5000)|wordwrap(1) }}", TOO_BIG),  # textwrap is quadratic in a long word
        ("{{ 'aaaa'|replace('', 'x' * 10000) }}", TOO_BIG),
        ("{{ ('a' * 10000).replace('a', 'b' * 1000) }}", TOO_BIG),
        ("{{ ('a' * 10000).translate({97: 'b' * 10000}) }}", TOO_BIG),
        ("{{ range(10000)|join('x' * 10000) }}", TOO_BIG),
        ("{{ ('x' * 10000).join(['a', 'b', 'c']) }}", TOO_BIG),
        ("{{ lipsum(n=100000) }}", TOO_BIG),
        ("{{ lipsum(1, max=10**6) }}", TOO_BIG),
        ("{{ range(10)|batch(10**9, 0)|list|length }}", TOO_BIG),
        ("{{ range(10)|slice(10**9)|list|length }}", TOO_BIG),
        ("{{ ([[0] * 100] * 100)|sum(start=[]) }}", TOO_BIG),  # quadratic copying
        ("{{ range(10000)|list|tojson(indent=100) }}", TOO_BIG),
        ("{{ range(2000)|list|pprint }}", TOO_BIG),
        ("{{ ('www.example.com ' * 500)|urlize }}", TOO_BIG),
        ("{{ dict.fromkeys(range(100000))|length }}", TOO_BIG),  # C goes through the range
        ("{{ dict.fromkeys(range(100000)|reverse)|length }}", TOO_BIG),
        ("{{ cycler(*range(100000)).items|length }}", TOO_BIG),
        ("{{ 1 .to_bytes(10**9, 'big') }}", TOO_BIG),
        ("{{ ('x' * 10000) ~ ('y' * 10000) ~ 'z' }}", TOO_BIG),
        ("{{ ('x' * 15000) + ('y' * 15000) }}", TOO_BIG),
        # A value that shares itself doubles at each step: 2**40 items to print or compare.
        (
            "{% set ns = namespace(a=[1, 1]) %}{% for i in range(40) %}"
            "{% set ns.a = [ns.a, ns.a] %}{% endfor %}{{ ns.a }}",
            TOO_BIG,
        ),
        (
            "{% set ns = namespace(s='xx') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
            TOO_BIG,
        ),
        # Captured output: a {% set %} block, a macro, a block called as a function.
        (
            "{% set x %}{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}{% endset %}",
            TOO_BIG,
        ),
        (
            "{% macro m() %}{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}{% endmacro %}"
            "{{ m()|length }}",
            TOO_BIG,
        ),
        (
            "{% if false %}{% block b %}{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}"
            "{% endblock %}{% endif %}{{ self.b()|length }}",
            TOO_BIG,
        ),
        ("{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}", REPLY),
        ("{{ 'x' * 20000 }}", REPLY),
        (
            "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(40) }}",
            "the template calls functions or filters more than 10,000 times",
        ),
        (
            "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
            "the template calls macros or loops too deeply",
        ),
    ],
)
def test_a_template_past_a_limit_fails_with_the_reason(source: str, reason: str) -> None:
    # A long, quick clock: this test is about counts and sizes, whatever the machine's speed.
    env = merchant_environment(TemplateLimits(milliseconds=60_000))
    with pytest.raises(TemplateLimitExceeded) as error:
        render(source, env)
    assert str(error.value) == reason


def test_a_template_past_its_time_fails_with_the_reason() -> None:
    ticks = count()
    env = merchant_environment(TemplateLimits(clock=lambda: next(ticks) / 1000))  # 1 ms a read
    with pytest.raises(TemplateLimitExceeded, match="took more than 5 ms to render"):
        render("{% for i in range(1000) %}{{ i|string }}{% endfor %}", env)
    # Loop items read the clock now and then, not every time.
    assert render("{% for i in range(100) %}{% endfor %}done", env) == "done"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello {{ nickname or 'there' }}! Send help to see what botstore can do.", None),
        ("Dear {{ nickname }}, you asked: {{ text | upper }}", "Dear Ann, you asked: HELLO THERE"),
        ("{% if nickname == 'vip' %}Hello VIP{% endif %}", ""),
        (
            "{% for w in text.split() %}{{ loop.index }}.{{ w|title }} {% endfor %}",
            "1.Hello 2.There",
        ),
        (
            "{% for w in text.split() %}{{ loop.revindex }}{{ loop.cycle('a', 'b') }}{% endfor %}",
            "2a1b",
        ),
        ("{% for k, v in {'a': 1, 'b': 2}|dictsort %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"),
        ("{% for x in [] %}x{% else %}none{% endfor %}", "none"),
        (
            "{% for i in range(3) %}{% for j in range(3) %}{{ i * j }}{% endfor %}{% endfor %}",
            "000012024",
        ),
        (
            "{% for x in [[1, [2]], [3]] recursive %}{{ x if x is number else loop(x) }}{% endfor %}",
            "123",
        ),
        ("{% for i in range(9999) %}{% endfor %}ok", "ok"),  # up to the limit itself
        (
            "{{ 12345|yuan }} {{ '%05.1f'|format(3.14159) }} {{ '{:>4}|{}'.format('ab', 1) }}",
            "123.45 003.1   ab|1",
        ),
        (
            "{{ '%s and %s' % (nickname, openid) }} {{ 2 ** 10 }} {{ 7 // 2 - 1 }}",
            "Ann and o_fan 1024 2",
        ),
        ("{{ text|replace('l', 'L') }} {{ text|center(15) }}|{{ text|wordwrap(5) }}", None),
        (
            "{{ [3, 1, 2]|sort|join(',') }} {{ range(5)|sum }} {{ range(4)|batch(3, 0)|list }}",
            "1,2,3 10 [[0, 1, 2], [3, 0, 0]]",
        ),
        (
            "{{ ['a', 'b']|map('upper')|join }} {{ range(10)|select('odd')|list }}",
            "AB [1, 3, 5, 7, 9]",
        ),
        ("{% macro hi(name) %}Hi {{ name }}{% endmacro %}{{ hi(nickname) }}", "Hi Ann"),
        ("{% set greeting %}Hi {{ nickname }}{% endset %}{{ greeting|upper }}", "HI ANN"),
        ("{% filter upper %}hi {{ nickname }}{% endfilter %}", "HI ANN"),
        (
            "{% set a, b = 1, 2 %}{{ a + b }} {{ (1, 2) + (3,) }} {{ [1] + [2] }}",
            "3 (1, 2, 3) [1, 2]",
        ),
        ("{{ lipsum(1, false, 5, 6)|wordcount }} {{ 'x' ~ 1 ~ none }}", "5 x1None"),
        (
            "{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}",
            "6",
        ),
    ],
)
def test_ordinary_templates_render_as_before(source: str, expected: str | None) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from botstore.templating import FILTERS

    plain = ImmutableSandboxedEnvironment(autoescape=False)
    plain.filters.update(FILTERS)
    before = plain.from_string(source).render(**VALUES).strip()
    assert render(source) == before
    if expected is not None:
        assert before == expected


def test_the_limit_counts_every_loop_item_nested_ones_included() -> None:
    nested = "{% for i in range(100) %}{% for j in range(99) %}{% endfor %}{% endfor %}done"
    assert render(nested) == "done"  # 100 + 100 * 99 = 10,000 items
    with pytest.raises(TemplateLimitExceeded, match=LOOPS):
        render(nested.replace("99", "100"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4))
def test_nested_loops_fail_exactly_past_the_limit(sizes: list[int]) -> None:
    source = "".join(f"{{% for x in range({n}) %}}" for n in sizes) + "x"
    source += "{% endfor %}" * len(sizes)
    items, product = 0, 1
    for n in sizes:
        product *= n
        items += product
    limits = TemplateLimits(loop_iterations=5_000, reply_chars=10**9, milliseconds=60_000)
    env = merchant_environment(limits)
    if items <= 5_000:
        assert render(source, env) == "x" * product
    else:
        with pytest.raises(TemplateLimitExceeded, match="loops more than 5,000 times"):
            render(source, env)


def test_each_render_has_its_own_budget_and_compiled_templates_are_kept() -> None:
    env = merchant_environment()
    source = "{% for i in range(6000) %}{% endfor %}{{ nickname }}"
    assert render(source, env) == render(source, env) == "Ann"  # 12,000 items in two renders
    assert env.from_string(source) is env.from_string(source)


def test_limits_stop_a_template_before_a_value_is_built() -> None:
    # Had it built the text first, this would take 8 GB before failing.
    with pytest.raises(TemplateLimitExceeded, match="larger than 1,000 characters"):
        render("{{ 'x' * 8 * 1000 ** 3 }}", merchant_environment(TemplateLimits(value_size=1000)))
