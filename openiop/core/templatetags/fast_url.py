"""{% url %} on openiop.core.urlreverse.fast_reverse: loaded as a template builtin after
Django's own (settings TEMPLATES "builtins"), so every template's {% url %} uses it."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from openiop.core.urlreverse import fast_reverse

register = template.Library()


class FastURLNode(URLNode):
    def render(self, context: template.Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        url = ""
        try:
            url = fast_reverse(self.view_name.resolve(context), args=args, kwargs=kwargs)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return str(conditional_escape(url)) if context.autoescape else url


@register.tag
def url(parser: Any, token: Any) -> FastURLNode:
    node = django_url(parser, token)
    return FastURLNode(node.view_name, node.args, node.kwargs, node.asvar)
