"""Security headers on every response, and input no form can hold."""

from __future__ import annotations

from flask import Flask, Response, abort, request

# No inline script or style anywhere: everything comes from our own /static.
# data: images are for the small icons USWDS embeds in its CSS.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def init_app(app: Flask) -> None:
    production = app.config["PORTAL_SETTINGS"].production

    def _refuse_nul() -> None:
        """A NUL character is no text anybody types; PostgreSQL refuses to store it, so
        it would otherwise surface as a 500."""
        if any("\x00" in value for values in (request.args, request.form) for value in values.values()):
            abort(400)
        # A multipart part whose name ends in a backslash ('name="a\\"') is parsed with
        # no name at all: a None key that CSRF protection would trip over (a 500).
        if any(not isinstance(key, str) for key in request.form):
            abort(400)

    # First of all, before CSRF protection reads the form.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_nul)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        # A page whose URL is its key (the officer card) sets a stricter one itself.
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if production:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
