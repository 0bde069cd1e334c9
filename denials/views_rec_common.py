"""Helpers shared by the remittance and receivables screens (issue 13)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

# The claims area's sub-navigation (charges part); ours until it lands.
SUBNAV = ("denials/_subnav.html", "denials/_rec_subnav.html")


def claim_url(number: str) -> str:
    """The claim page of a number, or '' while no claim page is installed."""
    try:
        return reverse("denials:claim", kwargs={"number": number})
    except NoReverseMatch:
        return ""


def not_found(request: HttpRequest, what: str) -> HttpResponse:
    """The friendly 404 page naming what was not found."""
    return render(request, "core/not_found.html", {"what": what}, status=404)


def back(request: HttpRequest, default: str, **kwargs):
    """Redirect to ?next= (same host only) or to the named default page."""
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
        return redirect(nxt)
    return redirect(default, **kwargs)
