"""Does a citizen's text belong on the children's desk (儿童服务专席)?

Mentioning children is not enough: "老人孩子出门很不安全" or "小区门口孩子上学的路灯坏了"
are an adult's complaints about a street. A text goes to the children's desk when

1. a child is speaking: a stated age under 18 ("我今年12岁"), "我是初二学生", "我在读高一",
   "我们班主任…", or a parent or teacher hurting the writer ("爸爸打我");
2. or it is about harm to a child: a word for a child together with a crisis word
   (abuse, violence, self-harm) or a harm that is particular to children (霸凌, 走失, 留守…);
3. or it asks about minors' affairs in the law's own word (未成年, "未成年人能不能办银行卡"):
   nobody uses it for a child who merely crosses the street.

The sender's history (a number that had a children's-desk ticket) is the caller's module's
business (`sms.had_children_desk`).
"""

import re

from hotline import crisis

MINORS = "未成年"
CHILD_WORDS = ("孩子", "小孩", "儿童", "未成年", "学生", "孙子", "孙女", "儿子", "女儿", "小朋友",
               "幼儿", "婴儿", "娃")
# Harm that is particular to children: with a child word it is a children's-desk matter.
CHILD_HARM = ("欺负", "霸凌", "校园暴力", "辍学", "失学", "留守", "走失", "被拐", "没人管", "无人照看",
              "虐童", "打孩子", "厌学", "不愿意上学", "不想上学", "不肯上学", "早恋", "离家出走",
              "不给饭吃", "抑郁")

_SCHOOL = r"(?:小学生|中学生|初中生|高中生|学生|小学|初中|高中|中学|[初高][一二三]|[一二三四五六]年级|幼儿园)"
# "我是初二学生", "我在读高一", "我上五年级" — but not a parent or a teacher saying where they are.
_NOT_A_PUPIL = r"(?![^，。,.!！?？]{0,3}(?:家长|老师|教师|工作|任教|上班|门口|旁边|附近))"
I_AM_A_PUPIL = re.compile(r"我(?:是|在|读|上|现在|正在|今年)+(?:一名|一个|个)?(?:在读)?[^，。,.!！?？]{0,4}?"
                          + _SCHOOL + _NOT_A_PUPIL)
MY_CLASS = re.compile(r"我们(?:班|学校|老师|班主任|校长|同学)")
HURTS_ME = re.compile(r"(?:爸爸|妈妈|爸|妈|继父|继母|后妈|后爸|父母|爷爷|奶奶|老师|班主任)"
                      r"[^，。,.!！?？]{0,4}(?:打我|骂我|关我|饿我|逼我|摸我|虐待我|不给我饭吃|不让我上学)")
AGE = re.compile(r"我(?:今年|现在|才|只有|已经)*([0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:周)?岁")


def child_is_speaking(text: str, age: int | None) -> bool:
    return ((age is not None and age < 18) or bool(I_AM_A_PUPIL.search(text))
            or bool(MY_CLASS.search(text)) or bool(HURTS_ME.search(text)))


def about_harm_to_a_child(text: str) -> bool:
    if not any(word in text for word in CHILD_WORDS):
        return False
    return bool(crisis.detect(text)) or any(word in text for word in CHILD_HARM)


def for_children_desk(text: str, age: int | None) -> bool:
    """True when the text is a child's own, about a child being harmed, or about minors' affairs."""
    text = text or ""
    return child_is_speaking(text, age) or about_harm_to_a_child(text) or MINORS in text
