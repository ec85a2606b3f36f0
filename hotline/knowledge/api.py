"""/api/v1/knowledge: articles, their workflow, the search seats use at intake, import, figures."""

from flask import request
from flask_smorest import Blueprint

from hotline.api import route
from hotline.auth import current_user
from hotline.knowledge import importer, service
from hotline.knowledge.schemas import (
    ArticleDetailOut,
    ArticleImportOut,
    ArticleIn,
    ArticleListArgs,
    ArticleOut,
    ArticlePatch,
    FiguresArgs,
    FiguresOut,
    FlagIn,
    FlagOut,
    ImportArgs,
    SearchArgs,
    SearchOut,
)
from hotline.knowledge.workflow import ACTIONS

blp = Blueprint("knowledge", __name__, url_prefix="/api/v1/knowledge", description="Knowledge base (知识库)")
ARTICLE = "/articles/<int(max=2147483647):article_id>"
# The error bodies a knowledge route may answer with (API.md's error body).
REFUSALS = {403: "This role may not (partners; publishing is for editors)", 404: "No such article",
            409: "Not allowed in the article's state", 422: "A field is wrong"}


@route(blp, "/search", query=SearchArgs(), out=SearchOut, refusals=REFUSALS, commit=True)
def search(args):
    """The published articles in force that best answer `q` (words cut, ranked), best first; a
    search that finds nothing is kept for the editors."""
    found = service.search_articles(current_user(), args["q"], args["unit"], args["limit"])
    return {"items": [{"id": a.id, "title": a.title, "answer": a.answer, "category": a.category,
                       "version": a.version, "source": a.source, "score": score, "matched": matched}
                      for a, score, matched in found]}


@route(blp, "/articles", "POST", body=ArticleIn(), out=ArticleDetailOut, status=201, refusals=REFUSALS,
       commit=True)
def create(body):
    """A draft article (anyone but partners; editors publish)."""
    return service.create_article(current_user(), body)


@route(blp, "/articles", query=ArticleListArgs(), out=ArticleOut(many=True), refusals=REFUSALS)
def list_articles(args):
    return service.list_articles(current_user(), args["state"])


@route(blp, ARTICLE, out=ArticleDetailOut, refusals=REFUSALS)
def get(article_id):
    """One article with its version history."""
    return service.get_article(current_user(), article_id)


@route(blp, ARTICLE, "PATCH", body=ArticlePatch(partial=True), out=ArticleDetailOut, refusals=REFUSALS,
       commit=True)
def patch(body, article_id):
    """Edit (a new version): drafts by their author or an editor, published articles by editors."""
    return service.update_article(current_user(), article_id, body)


def _action_view(action: str):
    def view(article_id):
        return service.perform(current_user(), article_id, action)

    view.__name__ = f"article_{action}"
    route(blp, f"{ARTICLE}/actions/{action}", "POST", out=ArticleDetailOut, refusals=REFUSALS, commit=True,
          endpoint=view.__name__, summary=f"Action: {action}")(view)


for _action in ACTIONS:
    _action_view(_action)


@route(blp, "/articles/import", "POST", query=ImportArgs(), out=ArticleImportOut, refusals=REFUSALS,
       commit=True, summary="Import CSV/XLSX (multipart `file`); dry_run=true (default) only checks")
def import_articles(args):
    """Rows of question, answer, category, unit, valid_from, valid_to (and title, keywords,
    source): as drafts, or with `dry_run` (the default) only what would happen."""
    return importer.import_file(current_user(), request.files.get("file"), dry_run=args["dry_run"])


@route(blp, "/figures", query=FiguresArgs(), out=FiguresOut, refusals=REFUSALS)
def figures(args):
    """For editors: direct answers by article, articles never used, searches that found nothing."""
    return service.figures(current_user(), args["since"])


@route(blp, f"{ARTICLE}/flag", "POST", body=FlagIn(), out=FlagOut, status=201, refusals=REFUSALS, commit=True)
def flag(body, article_id):
    """Report a published article as wrong: its owner unit (or, without one, the editors) is
    notified."""
    return service.flag_article(current_user(), article_id, body["reason"], body.get("ticket"))
