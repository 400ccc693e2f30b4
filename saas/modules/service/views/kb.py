"""Knowledge base pages: articles and categories."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.errors import ValidationError
from saas.i18n import N_, translate
from saas.modules.core.views.records import load_form
from saas.modules.service import kb
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import pages
from saas.tenants.routing import current_tenant_session


@pages.get("/kb")
def list_articles():
    session = current_tenant_session()
    q = (request.args.get("q") or "").strip()[:500]
    articles = kb.search_articles(session, q, published_only=False) if q else kb.list_articles(session)
    return render_template(
        "service/kb_list.html", articles=articles, q=q, categories=kb.list_categories(session), message=None
    )


@pages.post("/kb/categories")
def create_category():
    session = current_tenant_session()
    try:
        kb.create_category(session, request.form.get("name", ""))
    except ValidationError as error:
        return render_template(
            "service/kb_list.html", articles=kb.list_articles(session), q="",
            categories=kb.list_categories(session), message=translate(error.detail),
        ), 422  # fmt: skip
    flash(_("Category added."))
    return redirect(url_for("service.list_articles"))


def _article_form(article_id: uuid.UUID | None):
    session = current_tenant_session()
    article = kb.get_article(session, article_id) if article_id else None
    values = dict(request.form) if request.method == "POST" else {
        "title": article.title if article else "", "body": article.body if article else "",
        "status": article.status if article else "draft",
        "category_id": str(article.category_id or "") if article else "",
    }  # fmt: skip
    if request.method == "POST":
        data = {k: v for k, v in request.form.items() if k in ("title", "body", "status", "category_id")}
        try:
            loaded = load_form(s.ArticleIn(), data, N_("Please correct the article."))
            article = (
                kb.update_article(session, article_id, loaded)
                if article_id
                else kb.create_article(session, loaded)
            )
        except ValidationError as error:
            return render_template(
                "service/kb_form.html", values=values, errors=error.errors, message=translate(error.detail),
                article_id=article_id, categories=kb.list_categories(session),
            ), 422  # fmt: skip
        flash(_("Article saved."))
        return redirect(url_for("service.edit_article", kb_article_id=article.id))
    return render_template(
        "service/kb_form.html", values=values, errors={}, message=None, article_id=article_id,
        categories=kb.list_categories(session),
    )  # fmt: skip


@pages.route("/kb/new", methods=["GET", "POST"])
def new_article():
    return _article_form(None)


@pages.route("/kb/<uuid:kb_article_id>", methods=["GET", "POST"])
def edit_article(kb_article_id: uuid.UUID):
    return _article_form(kb_article_id)


@pages.post("/kb/<uuid:kb_article_id>/delete")
def delete_article(kb_article_id: uuid.UUID):
    kb.delete_article(current_tenant_session(), kb_article_id)
    flash(_("Article deleted."))
    return redirect(url_for("service.list_articles"))
