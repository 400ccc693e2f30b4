"""The knowledge base: categories and articles (draft or published), searched with PostgreSQL's full
text search. Published articles are public on the portal and suggested while a customer writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal_column, select

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.activities import acting_user_id
from saas.modules.service.models import (
    ARTICLE_DOCUMENT,
    ARTICLE_STATUSES,
    ARTICLE_TITLE,
    Article,
    ArticleCategory,
)

SUGGESTIONS = 5


def list_categories(session: TenantSession) -> list[ArticleCategory]:
    return list(
        session.scalars(select(ArticleCategory).order_by(ArticleCategory.position, ArticleCategory.name))
    )


def create_category(session: TenantSession, name: str) -> ArticleCategory:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(N_("A category needs a name."), {"name": [N_("1 to 100 characters.")]})
    if session.scalar(select(ArticleCategory.id).where(func.lower(ArticleCategory.name) == name.lower())):
        raise ValidationError(N_("This category exists."), {"name": [N_("Already taken.")]})
    category = ArticleCategory(name=name, position=len(list_categories(session)))
    session.add(category)
    session.flush()
    return category


def delete_category(session: TenantSession, category_id: uuid.UUID) -> None:
    category = session.get(ArticleCategory, category_id)
    if category is None:
        raise NotFound(N_("No category with id %(id)s.", id=category_id))
    session.delete(category)
    session.flush()


def get_article(session: TenantSession, article_id: uuid.UUID, *, published_only: bool = False) -> Article:
    article = session.get(Article, article_id)
    if article is None or (published_only and article.status != "published"):
        raise NotFound(N_("No article with id %(id)s.", id=article_id))
    return article


def _apply(session: TenantSession, article: Article, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for name in ("title", "body", "status", "category_id"):
        if name in data:
            setattr(article, name, data[name].strip() if isinstance(data[name], str) else data[name])
    if not article.title or len(article.title) > 200:
        errors["title"] = ["1 to 200 characters."]
    if not article.body:
        errors["body"] = ["An article needs a text."]
    if article.status not in ARTICLE_STATUSES:
        errors["status"] = ["draft or published"]
    if article.category_id is not None and session.get(ArticleCategory, article.category_id) is None:
        errors["category_id"] = ["No category with this id."]
    if errors:
        raise ValidationError(N_("Please correct the article."), errors)
    if article.status == "published" and article.published_at is None:
        article.published_at = datetime.now(UTC)
    elif article.status == "draft":
        article.published_at = None


def create_article(session: TenantSession, data: dict[str, Any]) -> Article:
    article = Article(status="draft", author_user_id=acting_user_id(session))
    with session.no_autoflush:
        _apply(session, article, data)
    session.add(article)
    session.flush()
    return article


def update_article(session: TenantSession, article_id: uuid.UUID, data: dict[str, Any]) -> Article:
    article = get_article(session, article_id)
    with session.no_autoflush:
        _apply(session, article, data)
    session.flush()
    return article


def delete_article(session: TenantSession, article_id: uuid.UUID) -> None:
    article = get_article(session, article_id)
    if article.status == "published":
        raise Conflict(N_("Unpublish the article (make it a draft) before deleting it."))
    session.delete(article)
    session.flush()


def list_articles(
    session: TenantSession,
    *,
    published_only: bool = False,
    category_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[Article]:
    query = select(Article)
    if published_only:
        query = query.where(Article.status == "published")
    if category_id is not None:
        query = query.where(Article.category_id == category_id)
    return list(session.scalars(query.order_by(Article.title, Article.id).limit(limit)))


def search_articles(
    session: TenantSession, text: str, *, published_only: bool = True, limit: int = 20, any_word: bool = False
) -> list[Article]:
    """Articles matching ``text`` by full-text search, best first.

    ``any_word`` matches articles sharing any word (suggestions for a half-written ticket) instead of
    all of them (the search box).
    """
    words = " ".join((text or "").split())[:500]
    if not words:
        return []
    if any_word:
        # websearch syntax with OR between the words; the parser drops stop words and punctuation.
        query = func.websearch_to_tsquery(literal_column("'english'::regconfig"), " or ".join(words.split()))
    else:
        query = func.websearch_to_tsquery(literal_column("'english'::regconfig"), words)
    statement = select(Article).where(ARTICLE_DOCUMENT.op("@@")(query))
    if published_only:
        statement = statement.where(Article.status == "published")
    # Ranked by the title alone, then newest: ranking by the whole document would rebuild every
    # matching body's vector (20x slower at 10k articles, bench/service.py); a body match still counts.
    title_rank = func.ts_rank(ARTICLE_TITLE, query)
    statement = statement.order_by(
        title_rank.desc(), Article.published_at.desc().nulls_last(), Article.id
    ).limit(limit)
    return list(session.scalars(statement))


def suggest_articles(session: TenantSession, text: str) -> list[Article]:
    """Published articles that might answer a ticket being written (subject and description so far)."""
    return search_articles(session, text, any_word=True, limit=SUGGESTIONS)
