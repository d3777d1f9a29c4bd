"""Merge tags and spintax: what a sender renders per contact, and what is refused at save time."""
import pytest
from hypothesis import given, settings, strategies as st

from sureapp.errors import ValidationFailed
from sureapp.sending.render import (MERGE_TAGS, TemplateProblem, check, problems, render,
                                    tags_used)

PLAIN = st.text(st.characters(blacklist_characters="{}|"), max_size=40)
WORDS = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters=" .,!"),
                min_size=1, max_size=12)


def test_merge_tags_and_defaults():
    values = {"first_name": "Ann", "last_name": "", "company": None}
    text = 'Hi {{ first_name }}{{last_name}} of {{ company | default: "your team" }}, ' \
           "{{ last_name | default: 'friend' }}"
    assert render(text, values, seed="s") == "Hi Ann of your team, friend"


def test_a_blank_value_takes_the_default():
    assert render('{{ first_name | default: "there" }}', {"first_name": "  "}, seed="s") == "there"


@pytest.mark.parametrize("text", ["{{ nope }}", "{{ first_name | upper }}", "{{ 7*7 }}",
                                  "{{ config.SECRET_KEY }}", "{{ first_name ", "{{}}",
                                  "{{ first_name | default: there }}"])
def test_unknown_or_malformed_tags_are_problems(text):
    found = problems(text)
    assert len(found) == 1 and ("merge tag" in found[0])
    with pytest.raises(TemplateProblem):
        render(text, {}, seed="s")


def test_check_names_each_field():
    with pytest.raises(ValidationFailed) as refused:
        check({"subject": "Hi {{ nme }}", "content_html": "ok {{ first_name }}"})
    assert list(refused.value.errors) == ["subject"]
    assert "nme" in refused.value.errors["subject"][0]


def test_jinja_syntax_is_plain_text():
    text = "{% for x in range(9) %}{{ '{' }}{% endfor %}"
    assert problems(text)  # {{ '{' }} is not a merge tag
    assert render("{% if True %}yes{% endif %} {# c #}", {}, seed="s") == \
        "{% if True %}yes{% endif %} {# c #}"


def test_spintax_nests_and_holds_merge_tags():
    seen = {render("{Hi|{Hello|Hey} there} {{ first_name }}", {"first_name": "Ann"}, seed=str(i))
            for i in range(60)}
    assert seen == {"Hi Ann", "Hello there Ann", "Hey there Ann"}


def test_braces_without_choice_are_text():
    css = "a { color: red } p {margin:0} | not a choice"
    assert problems(css) == []
    assert render(css, {}, seed="s") == css
    assert render("{oops", {}, seed="s") == "{oops"
    assert render("}{", {}, seed="s") == "}{"


def test_an_unclosed_choice_is_a_problem():
    assert "never closed" in problems("{Hi|Hello there")[0]


def test_nesting_is_bounded():
    assert "nested" in problems("{a|" * 30 + "b" + "}" * 30)[0]
    assert len(problems("{{" * 5000)[0]) < 200  # a problem quotes a short piece
    deep = "{ " * 5000 + "x" + " }" * 5000  # refused in linear time, no recursion
    assert "nested" in problems(deep)[0]
    assert render("{ " * 20 + "x" + " }" * 20, {}, seed="s") == "{ " * 20 + "x" + " }" * 20


def test_tags_used():
    assert tags_used("{{ unsubscribe_url }} {Hi|{{first_name}}}") == {"unsubscribe_url",
                                                                        "first_name"}


@given(value=st.text(max_size=60))
def test_values_are_never_parsed(value):
    rendered = render("{{ first_name }}", {"first_name": value}, seed="s")
    assert rendered == (value if value.strip() else "")


@given(value=st.text(max_size=60))
def test_html_values_are_escaped(value):
    rendered = render("<p>{{ first_name }}</p>", {"first_name": value}, seed="s", html=True)
    inner = rendered[3:-4]
    assert "<" not in inner and ">" not in inner and '"' not in inner


@given(text=PLAIN)
def test_text_without_braces_renders_as_itself(text):
    assert problems(text) == []
    assert render(text, {}, seed="s") == text


@given(alternatives=st.lists(WORDS, min_size=2, max_size=5), seed=st.text(max_size=20))
def test_spintax_picks_one_alternative_the_same_way_per_seed(alternatives, seed):
    text = "{" + "|".join(alternatives) + "}"
    first = render(text, {}, seed=seed)
    assert first in alternatives
    assert render(text, {}, seed=seed) == first


@settings(max_examples=300)
@given(text=st.lists(st.sampled_from(list("{}|ab ") + ["{{ first_name }}", "{{ x }}", "{{"]),
                    max_size=40).map("".join))
def test_any_text_either_renders_or_names_its_problem(text):
    found = problems(text)
    if found:
        with pytest.raises(TemplateProblem):
            render(text, {"first_name": "Ann"}, seed="s")
    else:
        assert isinstance(render(text, {"first_name": "Ann"}, seed="s"), str)


def test_every_merge_tag_renders():
    values = {name: f"<{name}>" for name in MERGE_TAGS}
    text = " ".join(f"{{{{ {name} }}}}" for name in MERGE_TAGS)
    assert render(text, values, seed="s") == " ".join(values.values())
