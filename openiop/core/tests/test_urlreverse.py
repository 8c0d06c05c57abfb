"""fast_reverse and the {% url %} built on it give what django.urls.reverse gives, for
every named URL of the project, and refuse what it refuses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from openiop.core.urlreverse import fast_reverse

SAMPLE = {"uuid": uuid.UUID(int=7), "int": 3, "slug": "notes", "string": "x-1", "path": "a/b"}


def _sample(converter: object) -> Any:
    return SAMPLE[type(converter).__name__.removesuffix("Converter").lower()]


def _named(
    resolver: URLResolver, namespace: str = "", converters: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in resolver.url_patterns:
        inherited = {**(converters or {}), **entry.pattern.converters}
        if isinstance(entry, URLResolver):
            ns = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from _named(entry, ns, inherited)
        elif isinstance(entry, URLPattern) and entry.name:
            kwargs = {name: _sample(c) for name, c in inherited.items()}
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), kwargs


NAMED = sorted({(name, tuple(sorted(kw.items()))) for name, kw in _named(get_resolver())})


def test_the_project_has_named_urls_to_compare() -> None:
    assert len(NAMED) > 100


@pytest.mark.parametrize(("name", "kwargs"), NAMED)
def test_same_url_as_django(name: str, kwargs: tuple[tuple[str, Any], ...]) -> None:
    try:
        expected = reverse(name, kwargs=dict(kwargs))
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            fast_reverse(name, kwargs=dict(kwargs))
    else:
        assert fast_reverse(name, kwargs=dict(kwargs)) == expected
        args = [value for _, value in kwargs]
        if len(args) <= 1:  # positional form where the order is unambiguous
            assert fast_reverse(name, args=args) == reverse(name, args=args)


def test_wrong_arguments_are_refused_like_django() -> None:
    with pytest.raises(NoReverseMatch):
        fast_reverse("patients:chart", args=["not-a-uuid"])
    with pytest.raises(NoReverseMatch):
        fast_reverse("patients:no-such-view")
    with pytest.raises(NoReverseMatch):
        fast_reverse("no-such-namespace:chart", args=[uuid.uuid4()])


def test_script_prefix_is_honoured() -> None:
    from django.urls import set_script_prefix

    set_script_prefix("/clinic/")
    try:
        assert fast_reverse("patients:search") == "/clinic/patients/" == reverse("patients:search")
    finally:
        set_script_prefix("/")


def test_url_tag_renders_the_same_and_escapes() -> None:
    public_id = uuid.uuid4()
    rendered = Template(
        "{% url 'patients:chart_section' pid 'notes' %}|{% url 'patients:search' as s %}{{ s }}"
    ).render(Context({"pid": public_id}))
    assert rendered == (
        reverse("patients:chart_section", args=[public_id, "notes"])
        + "|"
        + reverse("patients:search")
    )
    with pytest.raises(NoReverseMatch):
        Template("{% url 'patients:chart' 'nope' %}").render(Context({}))
    assert Template("{% url 'patients:chart' 'nope' as x %}[{{ x }}]").render(Context({})) == "[]"


def test_each_uuid_lands_in_its_own_place() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    for a, b in ((first, second), (second, first)):
        assert fast_reverse("notes:detail", args=[a, b]) == reverse("notes:detail", args=[a, b])
    assert fast_reverse("patients:chart", args=[first]) != fast_reverse(
        "patients:chart", args=[second]
    )
    assert fast_reverse(
        "patients:chart_section", kwargs={"public_id": first, "section": "plan"}
    ) == (reverse("patients:chart_section", kwargs={"public_id": first, "section": "plan"}))
