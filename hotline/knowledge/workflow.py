"""The editorial workflow of an article: draft → submitted → published → retired.

One `transitions` machine, built once (auto_transitions=False) like the ticket lifecycle:
`before` callbacks refuse, `after` callbacks apply the effects. Editors may publish a draft
they wrote themselves without submitting it first; a retired article stays readable.
"""

from transitions import Machine, MachineError

from hotline.errors import Conflict
from hotline.knowledge.models import Article
from hotline.knowledge.models import ArticleState as S
from hotline.types import utcnow
from hotline.users import User

TRANSITIONS = [
    {"trigger": "submit", "source": S.DRAFT, "dest": S.SUBMITTED},
    {"trigger": "publish", "source": [S.DRAFT, S.SUBMITTED], "dest": S.PUBLISHED, "after": "published"},
    {"trigger": "retire", "source": [S.DRAFT, S.SUBMITTED, S.PUBLISHED], "dest": S.RETIRED},
]
ACTIONS = tuple(t["trigger"] for t in TRANSITIONS)

_MACHINE = Machine(model=None, states=S, transitions=TRANSITIONS, initial=S.DRAFT,
                   auto_transitions=False, send_event=False)


class ArticleWorkflow:
    """The machine's model for one action on one article."""

    def __init__(self, article: Article, actor: User):
        self.article = article
        self.actor = actor

    @property
    def state(self) -> S:
        return self.article.state

    @state.setter
    def state(self, value: S) -> None:
        self.article.state = value

    def run(self, action: str) -> None:
        """Fire `action`; 409 when the article's state does not allow it."""
        _MACHINE.add_model(self, initial=self.article.state)
        try:
            self.trigger(action)
        except MachineError:
            raise Conflict(error="knowledge.wrong_state",
                           params={"article_state": self.article.state, "article_action": action}) from None
        finally:
            _MACHINE.remove_model(self)

    def published(self) -> None:
        self.article.published_at = utcnow()
