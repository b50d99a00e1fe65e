"""The user's own account pages: the API token (``/account/token/``).

A user makes a token (``Authorization: Token <key>`` for ``/api/v1/``), replaces it with a
new one or revokes it, by POST with the CSRF token. The key is shown once, in the answer to
the POST that made it (``Cache-Control: no-store``), never again on the page: whoever sees
the page later (a shared screen, the browser's history) does not see the key. Lost: make a
new one. Tokens of other users are not reachable here (``manage.py api_token`` is for
administrators).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from pipeline_core.api.tokens import issue_token, key_hint, revoke_token, token_of

from .htmx import login_required_htmx

#: POST ``action`` values.
ACTIONS = ("new", "revoke")


@require_http_methods(["GET", "POST"])
@never_cache
@login_required_htmx
def api_token(request):
    """GET: whether the user has a token (when made, the key's first characters). POST
    ``action=new``: a new key (replacing any), shown in the answer once; ``action=revoke``:
    delete it, back to the page with a message. Any other action: 400."""
    new_key = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "new":
            token, _ = issue_token(request.user, rotate=True)
            new_key = token.key
        elif action == "revoke":
            revoked = revoke_token(request.user)
            messages.success(
                request, "Your API token was revoked." if revoked else "You had no API token."
            )
            return redirect("web:api_token")
        else:
            status = 400
    token = token_of(request.user)
    context = {
        "token": token,
        "hint": key_hint(token) if token else None,
        "new_key": new_key,
        "bad_action": status == 400,
        "api_url": request.build_absolute_uri(reverse("api:schemas")),
        "docs_url": reverse("api:docs"),
    }
    return render(request, "account_token.html", context, status=status)
