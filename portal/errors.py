"""Translated error pages."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith("/api/"):  # machines read JSON, never an HTML page
            return jsonify(error=error.description), error.code
        if request_ctx.url_adapter is None:
            # A Host header the server cannot build links for (a scanner, a wrong proxy
            # setting): the page must not need the links it cannot build.
            return render_template("errors/without_links.html"), error.code
        return render_template("errors/http.html", error=error), error.code

    @app.errorhandler(InternalServerError)
    def _server_error(error: InternalServerError) -> ResponseReturnValue:
        if request.path.startswith("/api/"):
            return jsonify(error="server error"), 500
        return render_template("errors/500.html"), 500
