"""Knowledge articles in and out, the search's arguments and answer (API.md "Search and knowledge")."""

import marshmallow as ma
from marshmallow import fields, validate

from hotline.knowledge.models import ArticleState

TEXT_MAX = 10_000


def _codes():
    return fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=None)


class ArticleIn(ma.Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    questions = fields.String(load_default=None, validate=validate.Length(max=TEXT_MAX), metadata={
        "description": "the questions callers ask, one phrasing a line"})
    question = fields.String(load_default=None, validate=validate.Length(max=TEXT_MAX),
                             metadata={"description": "one phrasing (API.md's name); `questions` wins"})
    answer = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))
    category = fields.String(load_default=None, validate=validate.Length(max=64))
    units = _codes()
    areas = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=None)
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=None)
    source = fields.String(load_default=None, validate=validate.Length(max=500))
    valid_from = fields.Date(load_default=None)
    valid_to = fields.Date(load_default=None)
    owner_unit = fields.String(load_default=None, validate=validate.Length(max=64))


class ArticlePatch(ArticleIn):
    """Any of the fields; those left out stay."""

    title = fields.String(validate=validate.Length(min=1, max=200))
    answer = fields.String(validate=validate.Length(min=1, max=TEXT_MAX))


class ArticleOut(ma.Schema):
    id = fields.Integer()
    title = fields.String()
    questions = fields.Function(lambda a: [q for q in (a.questions or "").splitlines() if q.strip()])
    answer = fields.String()
    category = fields.String()
    units = fields.List(fields.String())
    areas = fields.List(fields.String())
    keywords = fields.List(fields.String())
    source = fields.String()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    owner_unit = fields.Function(lambda a: a.owner_unit.code if a.owner_unit else None)
    state = fields.Function(lambda a: a.state.value)
    version = fields.Integer()
    created_by = fields.Function(lambda a: a.created_by.username if a.created_by else None)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)


class VersionOut(ma.Schema):
    version = fields.Integer()
    action = fields.String()
    state = fields.String()
    by = fields.Function(lambda v: v.by.username if v.by else None)
    at = fields.DateTime()
    snapshot = fields.Dict()


class ArticleDetailOut(ArticleOut):
    history = fields.List(fields.Nested(VersionOut), attribute="versions")


class ArticleListArgs(ma.Schema):
    state = fields.String(load_default=None, validate=validate.OneOf([s.value for s in ArticleState]))


class SearchArgs(ma.Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=500))
    unit = fields.String(load_default=None, validate=validate.Length(max=64))
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))


class SearchHit(ma.Schema):
    id = fields.Integer()
    title = fields.String()
    answer = fields.String()
    category = fields.String()
    version = fields.Integer()
    source = fields.String()
    score = fields.Float()
    matched = fields.List(fields.String(), metadata={"description": "the query's words it holds"})


class SearchOut(ma.Schema):
    items = fields.List(fields.Nested(SearchHit))


class ImportArgs(ma.Schema):
    dry_run = fields.Boolean(load_default=True)


class FiguresArgs(ma.Schema):
    since = fields.DateTime(load_default=None)


class ArticleRef(ma.Schema):
    id = fields.Integer()
    title = fields.String()


class ArticleAnswerCount(ArticleRef):
    answers = fields.Integer()


class SearchMissOut(ma.Schema):
    q = fields.String()
    count = fields.Integer()
    last = fields.DateTime()


class FiguresOut(ma.Schema):
    answers = fields.Integer(metadata={"description": "direct answers (the `answer` action)"})
    with_article = fields.Integer()
    without_article = fields.Integer()
    closed_tickets = fields.Integer(metadata={"description": "tickets with a resolution"})
    direct_rate = fields.Float(allow_none=True, metadata={"description": "直接答复率: answered / resolved"})
    direct_rate_with_article = fields.Float(allow_none=True)
    direct_rate_without_article = fields.Float(allow_none=True, metadata={
        "description": "answered without an article / resolved"})
    by_article = fields.List(fields.Nested(ArticleAnswerCount))
    never_used = fields.List(fields.Nested(ArticleRef))
    misses = fields.List(fields.Nested(SearchMissOut),
                         metadata={"description": "searches that found nothing"})


class ImportRowError(ma.Schema):
    row = fields.Integer()
    errors = fields.Dict()


class ArticleImportOut(ma.Schema):
    dry_run = fields.Boolean()
    rows = fields.Integer()
    valid = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowError))
    titles = fields.List(fields.String())
    created = fields.List(fields.Integer())


class FlagIn(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=2000),
                           metadata={"description": "what is wrong (out of date, a wrong answer...)"})
    ticket = fields.Integer(load_default=None, allow_none=True,
                            validate=validate.Range(min=1, max=2_147_483_647),
                            metadata={"description": "the ticket the seat was answering, if any"})


class FlagOut(ma.Schema):
    id = fields.Integer()
    article = fields.Integer(attribute="article_id")
    version = fields.Integer()
    reason = fields.String()
    ticket = fields.Integer(attribute="ticket_id", allow_none=True)
    by = fields.Function(lambda f: f.by.username if f.by else None)
    at = fields.DateTime()
