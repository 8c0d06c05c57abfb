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
    target = _target(get_urlconf() or settings.ROOT_URLCONF, viewname)
    if target is None:
        return reverse(viewname, args=args, kwargs=kwargs)
    resolver, view = target
    url: str = resolver._reverse_with_prefix(  # type: ignore[attr-defined]
        view, get_script_prefix(), *args, **(kwargs or {})
    )
    return url


@receiver(setting_changed)
def _forget(*, setting: str, **_: Any) -> None:
    if setting == "ROOT_URLCONF":
        _target.cache_clear()


__all__ = ["NoReverseMatch", "fast_reverse"]
