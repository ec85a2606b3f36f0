"""The crisis lexicon (config/crisis_keywords.toml) over sentences children actually say.

The two lists below are the specification: every sentence in MUST_TRIGGER puts a ticket on
the crisis path, none in MUST_NOT_TRIGGER does. Add a sentence here with every change to the
word file.
"""

from pathlib import Path

import pytest

from hotline.crisis import CrisisKeywordsError, load_crisis_words

WORDS = load_crisis_words(Path(__file__).resolve().parents[1] / "config" / "crisis_keywords.toml")

# (sentence, the kind it must be found as)
MUST_TRIGGER = [
    ("我觉得活着没意思", "self_harm"),
    ("活着没有什么意思，每天都一样", "self_harm"),
    ("我想结束自己的生命", "self_harm"),
    ("我不想活了", "self_harm"),
    ("真的活不下去了", "self_harm"),
    ("有时候我想消失，谁也找不到我", "self_harm"),
    ("我昨天晚上割腕了", "self_harm"),
    ("我站在楼顶想跳楼", "self_harm"),
    ("我把家里的安眠药都攒起来了", "self_harm"),
    ("我已经写好遗书了", "self_harm"),
    ("我死了算了，反正没人在乎", "self_harm"),
    ("我不是想死，只是太累了……其实有时候真的想死", "self_harm"),  # the second mention counts
    ("我没有想自杀，但是我真的活不下去了", "self_harm"),          # another word, not negated
    ("他们说我想死是开玩笑", "self_harm"),
    ("我总是用小刀划手臂", "self_harm"),
    ("爸爸喝醉了就打我", "abuse"),
    ("他打我，还不让我告诉妈妈", "abuse"),
    ("他没怎么打我，就是用皮带抽了几下", "abuse"),              # minimised abuse still counts
    ("继父晚上摸我下面", "abuse"),
    ("他们把我关起来，不给我饭吃", "abuse"),
    ("我妈说再考不好就弄死我", "violence"),
    ("我爸说要打死我", "violence"),
    ("在学校总是被欺负，他们抢我的钱", "violence"),
    ("同学在厕所霸凌我", "violence"),
    ("有人在网上威胁我要发我的照片", "violence"),
]

MUST_NOT_TRIGGER = [
    "笑死我了，今天老师讲的笑话",
    "作业太多了，累死了",
    "中午没吃饭，饿死了",
    "我的电脑又死机了",
    "今天热死了，想去游泳",
    "吓死我了，刚才有只狗冲过来",
    "我不是想死，只是太累了",
    "我没有想自杀，只是想找人说说话",
    "我从来没想过自杀",
    "放心，我不会自杀的",
    "你明天打我电话吧",
    "妈妈让我打我手机找她",
    "打死我也不去补习班",
    "周末和同学玩杀人游戏",
    "晚上邻居太吵，经常被打扰休息",
    "想咨询孩子转学的手续",
    "我和同桌吵架了，不知道怎么和好",
]


@pytest.mark.parametrize("sentence, kind", MUST_TRIGGER)
def test_what_children_say_about_a_crisis_triggers(sentence, kind):
    signal = WORDS.detect(sentence)
    assert signal, f"missed: {sentence}"
    assert kind in signal.kinds, f"{sentence}: found {signal.found}"


@pytest.mark.parametrize("sentence", MUST_NOT_TRIGGER)
def test_everyday_speech_and_negations_do_not_trigger(sentence):
    assert not WORDS.detect(sentence), f"false alarm on {sentence}: {WORDS.detect(sentence).found}"


def test_a_negation_elsewhere_in_the_text_does_not_hide_a_plain_mention():
    assert WORDS.detect("没有人关心我，我想死").words == ["想死"]


@pytest.mark.parametrize("negation, message", [
    ('kinds = ["nonsense"]', "unknown: nonsense"),
    ('cues = "没有"', "negation.cues"),
])
def test_a_bad_negation_section_stops_start_up(tmp_path, negation, message):
    path = tmp_path / "words.toml"
    path.write_text(f'[kinds]\nself_harm = ["想死"]\n[negation]\n{negation}\n', encoding="utf-8")
    with pytest.raises(CrisisKeywordsError, match=message):
        load_crisis_words(path)
