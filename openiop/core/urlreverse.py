"""reverse() with the namespace lookup done once per view name.

django.urls.reverse walks the namespaces of "app:view" on every call (three language
lookups and thread-local reads among them), which is most of its cost: a chart page's
thirty links spent longer in reverse() than in several of its queries. The last step,
matching the arguments against the view's pattern, is Django's own and runs every time,
so a wrong argument still raises NoReverseMatch.

Correct while every app namespace has one instance and URL patterns are not translated
(i18n_patterns); where a namespace has several instances (the admin could), this falls
back to django.urls.reverse, which honours current_app.
"""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.resolvers import URLResolver, get_ns_resolver


@functools.lru_cache(maxsize=4096)
def _target(urlconf: str, viewname: str) -> tuple[URLResolver, str] | None:
    """The resolver that reverses viewname and the bare view name; None when a
    namespace on the way has several instances (then current_app matters)."""
    resolver = get_resolver(urlconf)
    *path, view = viewname.split(":")
    ns_pattern = ""
    ns_converters: dict[str, Any] = {}
    for ns in path:
        apps = resolver.app_dict.get(ns)
        if apps is not None and (len(apps) != 1 or apps[0] != ns):
            return None
        try:
            extra, resolver = resolver.namespace_dict[ns]
        except KeyError:
            return None  # let django.urls.reverse raise its own message
        ns_pattern += extra
        ns_converters.update(resolver.pattern.converters)
    if ns_pattern:
        resolver = get_ns_resolver(ns_pattern, resolver, tuple(ns_converters.items()))
    return resolver, view


def fast_reverse(
    viewname: str, args: list[Any] | tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> str:
    """django.urls.reverse(viewname, args=args, kwargs=kwargs), faster.

    UUID arguments (every public id in our URLs) are reversed once with stand-ins and
    substituted afterwards, so a page's many links to records of one kind cost one
    reverse() per view name and shape of the other arguments."""
    kwargs = kwargs or {}
    uuids = [a for a in args if isinstance(a, UUID)] + [
        v for v in kwargs.values() if isinstance(v, UUID)
    ]
    if len(uuids) <= len(_STAND_INS):
        stand_ins = iter(_STAND_INS)
        shape_args = tuple(next(stand_ins) if isinstance(a, UUID) else a for a in args)
        shape_kwargs = tuple(
            (k, next(stand_ins) if isinstance(v, UUID) else v) for k, v in kwargs.items()
        )
        try:
            url = _shaped(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(),
                          viewname, shape_args, shape_kwargs)  # fmt: skip
        except TypeError:  # an argument that cannot be a cache key
            pass
        else:
            for stand_in, value in zip(_STAND_INS, uuids, strict=False):
                url = url.replace(str(stand_in), str(value), 1)
            return url
    return _reverse(viewname, args, kwargs)


# Version-4 UUIDs that no record has (their random bits are a fixed pattern).
_STAND_INS = tuple(UUID(f"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1{i:02x}") for i in range(4))


@functools.lru_cache(maxsize=4096)
def _shaped(
    urlconf: str,
    prefix: str,
    viewname: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
) -> str:
    return _reverse(viewname, args, dict(kwargs))


def _reverse(viewname: str, args: Any, kwargs: dict[str, Any]) -> str:
    target = _target(get_urlconf() or settings.ROOT_URLCONF, viewname)
    if target is None:
        return reverse(viewname, args=args, kwargs=kwargs)
    resolver, view = target
    url: str = resolver._reverse_with_prefix(  # type: ignore[attr-defined]
        view, get_script_prefix(), *args, **kwargs
    )
    return url


@receiver(setting_changed)
def _forget(*, setting: str, **_: Any) -> None:
    if setting == "ROOT_URLCONF":
        _target.cache_clear()
        _shaped.cache_clear()


__all__ = ["NoReverseMatch", "fast_reverse"]
