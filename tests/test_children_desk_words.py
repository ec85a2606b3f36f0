"""Which texts open a ticket on the children's desk: a child speaking, or harm to a child —
not an adult who merely mentions children. Realistic texts, both ways, through the SMS
webhook and its job, as a citizen's text really goes."""

import pytest

from hotline.channels.models import InboundSms
from hotline.tickets.models import Ticket
from tests.twilio_fakes import drain, rows, sms_params

CHILDREN = [
    "我是初二学生，爸爸打我",
    "我今年12岁，爸爸妈妈天天吵架，我不想回家",
    "我在读高一，班主任经常当着全班骂我",
    "我们班有几个同学一直欺负我，老师也不管",
    "我上五年级，后妈不给我饭吃",
    "我是一名小学生，晚上一个人在家很害怕",
    "邻居家的孩子经常被打，哭得很厉害",
    "楼下有个小孩走失了，一直在哭找妈妈",
    "我儿子在学校被同学霸凌，学校不处理",
    "村里的留守儿童没人管，天天在河边玩水",
    "我十五岁，不想活了",
    "孩子最近不愿意上学，一说就哭",
]

GENERAL = [
    "老人孩子出门很不安全",
    "小区门口孩子上学的路灯坏了",
    "学校门口早晚高峰堵车严重，建议增加交警",
    "孩子的医保怎么办理？需要带什么材料",
    "幼儿园旁边的垃圾站臭味很大",
    "我想咨询一下小学入学需要哪些材料",
    "我是学生家长，学校周边的路灯不亮",
    "我在中学当老师，学校门口的斑马线没了",
    "我家孩子的学校食堂收费太贵",
    "小区里孩子玩的滑梯坏了，很危险",
    "我们小区的高中生晚上打球太吵",
]


def desk_of(app, twilio, text: str, sender: str) -> str:
    params = sms_params(text, sender)
    assert twilio.post("/twilio/sms", params).status_code == 200
    drain(app)
    [sms] = rows(app, InboundSms, InboundSms.message_sid == params["MessageSid"])
    [ticket] = rows(app, Ticket, Ticket.id == sms.ticket_id)
    return ticket.desk.value


@pytest.mark.parametrize("text", CHILDREN)
def test_a_child_speaking_or_a_child_harmed_goes_to_the_childrens_desk(app, twilio, text):
    assert desk_of(app, twilio, text, "+8613700001111") == "children"


@pytest.mark.parametrize("text", GENERAL)
def test_an_adult_who_merely_mentions_children_goes_to_the_general_desk(app, twilio, text):
    assert desk_of(app, twilio, text, "+8613700002222") == "general"
