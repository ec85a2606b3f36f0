"""/api/v1/knowledge: articles, their workflow, the search seats use at intake, import, figures."""

from flask import request
from flask_smorest import Blueprint

from hotline.api import committed
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
SECURITY = [{"bearer": []}]


def _refusals(view):
    """The error bodies a knowledge route may answer with (API.md's error body)."""
    for code, text in ((403, "This role may not (partners; publishing is for editors)"),
                       (404, "No such article"), (409, "Not allowed in the article's state"),
                       (422, "A field is wrong")):
        view = blp.alt_response(code, description=text)(view)
    return view


@blp.route("/search", methods=["GET"])
@blp.arguments(SearchArgs(), location="query")
@blp.response(200, SearchOut)
@blp.doc(security=SECURITY)
@_refusals
@committed
def search(args):
    """The published articles in force that best answer `q` (words cut, ranked), best first; a
    search that finds nothing is kept for the editors."""
    found = service.search_articles(current_user(), args["q"], args["unit"], args["limit"])
    return {"items": [{"id": a.id, "title": a.title, "answer": a.answer, "category": a.category,
                       "version": a.version, "source": a.source, "score": score, "matched": matched}
                      for a, score, matched in found]}


@blp.route("/articles", methods=["POST"])
@blp.arguments(ArticleIn())
@blp.response(201, ArticleDetailOut)
@blp.doc(security=SECURITY)
@_refusals
@committed
def create(body):
    """A draft article (anyone but partners; editors publish)."""
    return service.create_article(current_user(), body)


@blp.route("/articles", methods=["GET"])
@blp.arguments(ArticleListArgs(), location="query")
@blp.response(200, ArticleOut(many=True))
@blp.doc(security=SECURITY)
@_refusals
def list_articles(args):
    return service.list_articles(current_user(), args["state"])


@blp.route("/articles/<int(max=2147483647):article_id>", methods=["GET"])
@blp.response(200, ArticleDetailOut)
@blp.doc(security=SECURITY)
@_refusals
def get(article_id):
    """One article with its version history."""
    return service.get_article(current_user(), article_id)


@blp.route("/articles/<int(max=2147483647):article_id>", methods=["PATCH"])
@blp.arguments(ArticlePatch(partial=True))
@blp.response(200, ArticleDetailOut)
@blp.doc(security=SECURITY)
@_refusals
@committed
def patch(body, article_id):
    """Edit (a new version): drafts by their author or an editor, published articles by editors."""
    return service.update_article(current_user(), article_id, body)


def _action_view(action: str):
    @blp.response(200, ArticleDetailOut)
    @blp.doc(security=SECURITY, summary=f"Action: {action}")
    @_refusals
    @committed
    def view(article_id):
        return service.perform(current_user(), article_id, action)

    view.__name__ = f"article_{action}"
    blp.route(f"/articles/<int(max=2147483647):article_id>/actions/{action}", methods=["POST"],
              endpoint=view.__name__)(view)


for _action in ACTIONS:
    _action_view(_action)


@blp.route("/articles/import", methods=["POST"])
@blp.arguments(ImportArgs(), location="query")
@blp.response(200, ArticleImportOut)
@_refusals
@blp.doc(security=SECURITY, summary="Import CSV/XLSX (multipart `file`); dry_run=true (default) only checks")
@committed
def import_articles(args):
    """Rows of question, answer, category, unit, valid_from, valid_to (and title, keywords,
    source): as drafts, or with `dry_run` (the default) only what would happen."""
    return importer.import_file(current_user(), request.files.get("file"), dry_run=args["dry_run"])


@blp.route("/figures", methods=["GET"])
@blp.arguments(FiguresArgs(), location="query")
@blp.response(200, FiguresOut)
@blp.doc(security=SECURITY)
@_refusals
def figures(args):
    """For editors: direct answers by article, articles never used, searches that found nothing."""
    return service.figures(current_user(), args["since"])


@blp.route("/articles/<int(max=2147483647):article_id>/flag", methods=["POST"])
@blp.arguments(FlagIn())
@blp.response(201, FlagOut)
@blp.doc(security=SECURITY)
@_refusals
@committed
def flag(body, article_id):
    """Report a published article as wrong: its owner unit (or, without one, the editors) is
    notified."""
    return service.flag_article(current_user(), article_id, body["reason"], body.get("ticket"))
