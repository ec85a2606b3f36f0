"""The knowledge base in the console: suggestions beside the intake form, the editors' page.

Suggestions are the knowledge search (`knowledge.service.search_articles`, as the API's
`/api/v1/knowledge/search`) rendered as a small HTML list the page polls as the seat types,
like the caller's history: no build step, no token in the page.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import case, select

from hotline import permissions
from hotline.console import bp
from hotline.console.guard import allowed
from hotline.console.helpers import user
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.knowledge import service
from hotline.knowledge.models import Article, ArticleState
from hotline.knowledge.workflow import ACTIONS
from hotline.search import highlight
from hotline.tickets import service as tickets
from hotline.tickets.models import Ticket

SUGGESTIONS = 5


@bp.get("/knowledge/suggest")
@allowed(permissions.is_centre)
def knowledge_suggest():
    """The best published articles for what the seat has typed so far (`final=1`: the seat left
    the field; a search that then finds nothing is kept for the editors)."""
    q = (request.args.get("q") or "").strip()[:500]
    found = service.search_articles(user(), q, request.args.get("unit") or None, SUGGESTIONS,
                                    record_miss=request.args.get("final") == "1") if q else []
    db.session.commit()
    hits = [{"id": a.id, "version": a.version, "category": a.category, "source": a.source,
             "answer": a.answer, "title_html": highlight(a.title, q),
             "answer_html": highlight(a.answer, q)} for a, _score, _matched in found]
    return render_template("console/_kb_suggestions.html", hits=hits, q=q)


def answer_from_intake(ticket: Ticket, form) -> None:
    """The intake form's direct answer (optionally read from an article): the `answer` action,
    in the same request as the ticket."""
    answer = (form.get("direct_answer") or "").strip()
    if not answer:
        return
    article = form.get("article", type=int)
    tickets.perform(user(), ticket.id, "answer", {"answer": answer, "article": article})


@bp.get("/knowledge")
@allowed(permissions.is_knowledge_editor)
def knowledge_page():
    """For editors: articles waiting for review, the published ones, and the figures."""
    permissions.check_knowledge_editor(user())
    # What waits for review first, then drafts, the published, the retired.
    waiting_first = case({ArticleState.SUBMITTED.value: 0, ArticleState.DRAFT.value: 1,
                          ArticleState.PUBLISHED.value: 2}, value=Article.state, else_=3)
    articles = list(db.session.scalars(select(Article).order_by(waiting_first, Article.id.desc())))
    return render_template("console/knowledge.html", articles=articles, figures=service.figures(user()),
                           states=list(ArticleState), flags=service.flags(user()))


@bp.post("/knowledge/<int:article_id>/<action>")
@allowed(permissions.is_knowledge_editor)
def knowledge_action(article_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    try:
        article = service.perform(user(), article_id, action)
        db.session.commit()
        flash(gettext("知识条目“%(title)s”：%(state)s", title=article.title, state=article.state.value),
              "success")
    except HotlineError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("console.knowledge_page"))


@bp.route("/knowledge/<int:article_id>/flag", methods=["GET", "POST"])
@allowed(permissions.is_knowledge_author)
def knowledge_flag(article_id: int):
    """纠错: a seat reports a published article as wrong; its owner unit is notified."""
    article = service.get_article(user(), article_id)
    if request.method == "POST":
        reason = (request.form.get("reason") or "").strip()
        if len(reason) >= 2:
            service.flag_article(user(), article_id, reason[:2000])
            db.session.commit()
            flash(gettext("已报告，条目负责单位会收到通知。"), "success")
            return redirect(url_for("console.knowledge_flag", article_id=article_id))
        flash(gettext("请写明哪里有误。"), "error")
    return render_template("console/knowledge_flag.html", article=article)
