"""``/api/v1/kb``: knowledge base articles and categories."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.service import kb
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import api
from saas.tenants.routing import current_tenant_session

auth = api.auth_required(token_auth)


@api.get("/kb/articles")
@auth
@api.input(s.ArticleQuery, location="query")
@api.output(s.ArticleList)
@api.doc(summary="List or search (full text) knowledge base articles")
def list_articles(query_data):
    session = current_tenant_session()
    if query_data["q"]:
        found = kb.search_articles(
            session, query_data["q"], published_only=query_data["status"] == "published"
        )
        if query_data["status"] == "draft":
            found = [article for article in found if article.status == "draft"]
        return {"data": found}
    articles = kb.list_articles(session, category_id=query_data["category_id"])
    if query_data["status"]:
        articles = [article for article in articles if article.status == query_data["status"]]
    return {"data": articles}


@api.post("/kb/articles")
@auth
@api.input(s.ArticleIn)
@api.output(s.ArticleOut, status_code=201)
@api.doc(summary="Write an article (a draft unless status is published)", responses=[422])
def create_article(json_data):
    return kb.create_article(current_tenant_session(), json_data)


@api.get("/kb/articles/<uuid:kb_article_id>")
@auth
@api.output(s.ArticleOut)
@api.doc(summary="Read an article", responses=[404])
def get_article(kb_article_id: uuid.UUID):
    return kb.get_article(current_tenant_session(), kb_article_id)


@api.patch("/kb/articles/<uuid:kb_article_id>")
@auth
@api.input(s.ArticleIn(partial=True))
@api.output(s.ArticleOut)
@api.doc(summary="Change, publish or unpublish an article", responses=[404, 422])
def update_article(kb_article_id: uuid.UUID, json_data):
    return kb.update_article(current_tenant_session(), kb_article_id, json_data)


@api.delete("/kb/articles/<uuid:kb_article_id>")
@auth
@api.output({}, status_code=204)
@api.doc(summary="Delete a draft article", responses=[404, 409])
def delete_article(kb_article_id: uuid.UUID):
    kb.delete_article(current_tenant_session(), kb_article_id)
    return ""


@api.get("/kb/categories")
@auth
@api.output(s.CategoryList)
@api.doc(summary="List article categories")
def list_categories():
    return {"data": kb.list_categories(current_tenant_session())}


@api.post("/kb/categories")
@auth
@api.input(s.CategoryIn)
@api.output(s.CategoryOut, status_code=201)
@api.doc(summary="Create an article category", responses=[422])
def create_category(json_data):
    return kb.create_category(current_tenant_session(), json_data["name"])
